// The backup media format (docs/backup-format.md): a media file is a sequence of frames; the
// first is the media header, then each backup set is SET_BEGIN, data frames, SET_END. Every
// frame carries a header CRC and a payload CRC, so any flipped byte or cut is found before a
// byte of it is trusted; a set without its SET_END is incomplete (a backup that did not finish,
// or a truncated file) and is never restored. Pure: no I/O.
//
// Frame (little-endian): 0 magic u32 "MLBF" | 4 version u8 | 5 kind u8 | 6 flags u16
//   8 payloadBytes u32 (decoded) | 12 storedBytes u32 (on media) | 16 arg0 u64 | 24 arg1 u64
//   32 payloadCrc u32 (of the stored bytes) | 36 headerCrc u32 (of bytes 0..35)
//   40 stored payload, then zero padding to 8 bytes.
import { crc32 } from "node:zlib";
import { assert } from "../util/assert.js";

export const FRAME_MAGIC = 0x46424c4d; // "MLBF"
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 40;
/** No frame payload is larger (a log frame holds whole records of up to ~4.1 MiB). */
export const FRAME_PAYLOAD_BYTES_MAX = 16 * 1024 * 1024;
/** Deflate can grow incompressible data slightly; stored bytes are bounded by this margin. */
const STORED_SLACK_BYTES = 64 * 1024;

export const FrameKind = {
  MEDIA: 1, // JSON MediaHeader
  SET_BEGIN: 2, // JSON BackupSetHeader
  PAGES: 3, // arg0 first page number, arg1 page count: count × pageSize bytes
  LOG: 4, // arg0 first LSN, arg1 record count: whole log records back to back
  SET_END: 5, // JSON BackupSetTrailer
} as const;
export type FrameKindValue = (typeof FrameKind)[keyof typeof FrameKind];

export const FrameFlags = { DEFLATE: 1 } as const;

export interface FrameHeader {
  readonly kind: FrameKindValue;
  readonly flags: number;
  readonly payloadBytes: number;
  readonly storedBytes: number;
  readonly arg0: number;
  readonly arg1: number;
  readonly payloadCrc: number;
}

export function frameBytes(storedBytes: number): number {
  return FRAME_HEADER_BYTES + Math.ceil(storedBytes / 8) * 8;
}

/** The 40-byte header of a frame whose stored payload is `stored`. */
export function encodeFrameHeader(kind: FrameKindValue, stored: Uint8Array, payloadBytes: number,
  options: { flags?: number; arg0?: number; arg1?: number } = {}): Buffer {
  assert(payloadBytes <= FRAME_PAYLOAD_BYTES_MAX, `frame payload of ${payloadBytes} bytes`);
  const out = Buffer.alloc(FRAME_HEADER_BYTES);
  out.writeUInt32LE(FRAME_MAGIC, 0);
  out.writeUInt8(FRAME_VERSION, 4);
  out.writeUInt8(kind, 5);
  out.writeUInt16LE(options.flags ?? 0, 6);
  out.writeUInt32LE(payloadBytes, 8);
  out.writeUInt32LE(stored.length, 12);
  writeU64(out, options.arg0 ?? 0, 16);
  writeU64(out, options.arg1 ?? 0, 24);
  out.writeUInt32LE(crc32(stored), 32);
  out.writeUInt32LE(crc32(out.subarray(0, 36)), 36);
  return out;
}

/** Zero bytes that pad a stored payload of this length to 8 bytes. */
export function framePadding(storedBytes: number): Buffer {
  return Buffer.alloc(frameBytes(storedBytes) - FRAME_HEADER_BYTES - storedBytes);
}

/** A whole frame: header, stored payload and padding. */
export function encodeFrame(kind: FrameKindValue, stored: Uint8Array, payloadBytes: number,
  options: { flags?: number; arg0?: number; arg1?: number } = {}): Buffer {
  return Buffer.concat([encodeFrameHeader(kind, stored, payloadBytes, options), stored,
    framePadding(stored.length)]);
}

export function encodeJsonFrame(kind: FrameKindValue, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), "utf8");
  return encodeFrame(kind, json, json.length);
}

/** The frame header, or why these bytes are not one (then the media is malformed or cut). */
export function decodeFrameHeader(buf: Uint8Array): FrameHeader | string {
  if (buf.length < FRAME_HEADER_BYTES) return "short frame header";
  const view = Buffer.from(buf.buffer, buf.byteOffset, FRAME_HEADER_BYTES);
  if (view.readUInt32LE(0) !== FRAME_MAGIC) return "no frame magic";
  if (crc32(view.subarray(0, 36)) !== view.readUInt32LE(36)) return "frame header checksum mismatch";
  if (view.readUInt8(4) !== FRAME_VERSION) return `unknown frame version ${view.readUInt8(4)}`;
  const kind = view.readUInt8(5);
  if (kind < FrameKind.MEDIA || kind > FrameKind.SET_END) return `unknown frame kind ${kind}`;
  const flags = view.readUInt16LE(6);
  if ((flags & ~FrameFlags.DEFLATE) !== 0) return `unknown frame flags ${flags}`;
  const payloadBytes = view.readUInt32LE(8);
  const storedBytes = view.readUInt32LE(12);
  if (payloadBytes > FRAME_PAYLOAD_BYTES_MAX) return `frame payload of ${payloadBytes} bytes`;
  const compressed = (flags & FrameFlags.DEFLATE) !== 0;
  if (compressed ? storedBytes > payloadBytes + STORED_SLACK_BYTES : storedBytes !== payloadBytes) {
    return "stored length disagrees with payload length";
  }
  return { kind: kind as FrameKindValue, flags, payloadBytes, storedBytes,
    arg0: readU64(view, 16), arg1: readU64(view, 24), payloadCrc: view.readUInt32LE(32) };
}

/** Media header: what RESTORE LABELONLY shows; written once by FORMAT (or the first backup). */
export interface MediaHeader {
  readonly format: "mirrorlite-backup";
  readonly formatVersion: 1;
  readonly mediaSetGuid: string;
  readonly mediaName: string | null;
  readonly mediaDescription: string | null;
  readonly createdAt: string;
  readonly softwareName: string;
  readonly softwareVersion: string;
  readonly familyCount: 1;
  readonly familySequenceNumber: 1;
}

export type BackupType = 1 | 2 | 5; // database, transaction log, differential database

export interface RecoveryForkInfo { readonly guid: string; readonly epoch: number; readonly firstLsn: number }

/** Everything known when a set starts; SET_END adds what is known at its end. */
export interface BackupSetHeader {
  readonly position: number;
  readonly backupSetGuid: string;
  readonly backupType: BackupType;
  readonly name: string | null;
  readonly description: string | null;
  readonly databaseName: string;
  readonly familyGuid: string;
  readonly forks: readonly RecoveryForkInfo[];
  readonly recoveryModel: "FULL" | "SIMPLE" | "BULK_LOGGED";
  readonly pageSize: number;
  readonly dbSizePages: number;
  readonly firstLsn: number;
  readonly lastLsn: number;
  readonly checkpointLsn: number;
  readonly databaseBackupLsn: number;
  readonly differentialBaseLsn: number | null;
  readonly differentialBaseGuid: string | null;
  readonly beginsLogChain: boolean;
  readonly isCopyOnly: boolean;
  readonly isForceOffline: boolean;
  readonly hasBackupChecksums: boolean;
  readonly compressed: boolean;
  readonly userName: string;
  readonly serverName: string;
  readonly databaseCreationDate: string;
  readonly startDate: string;
  /** When the set's state was current: the snapshot (data) or the last commit (log), ms. */
  readonly stateTimeMs: number;
  readonly softwareVersion: string;
}

export interface BackupSetTrailer {
  readonly position: number;
  readonly backupSetGuid: string;
  /** For a log backup: one past the last record kept (the set's records end at a commit). */
  readonly lastLsn: number;
  readonly finishDate: string;
  readonly stateTimeMs: number;
  readonly frameCount: number;
  readonly pageCount: number;
  readonly recordCount: number;
  /** Decoded bytes of data frames and bytes on the media for the whole set. */
  readonly backupSizeBytes: number;
  readonly storedSizeBytes: number;
  /** CRC32 chained over every data frame's payload CRC, in order. */
  readonly setCrc: number;
}

/** Parses a JSON frame payload; null when it is not the expected shape. */
export function parseJsonPayload<T>(payload: Uint8Array, required: readonly string[]): T | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString("utf8"));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  return required.every((key) => Object.hasOwn(value, key)) ? value as T : null;
}

export const MEDIA_HEADER_KEYS = ["format", "formatVersion", "mediaSetGuid", "createdAt"] as const;
export const SET_HEADER_KEYS = ["position", "backupSetGuid", "backupType", "databaseName",
  "familyGuid", "forks", "pageSize", "dbSizePages", "firstLsn", "lastLsn"] as const;
export const SET_TRAILER_KEYS = ["position", "backupSetGuid", "lastLsn", "finishDate",
  "frameCount", "setCrc"] as const;

/** Chains a data frame's payload CRC into the set CRC. */
export function chainCrc(setCrc: number, payloadCrc: number): number {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(payloadCrc >>> 0, 0);
  return crc32(bytes, setCrc);
}

function writeU64(out: Buffer, value: number, offset: number): void {
  out.writeUInt32LE(value % 0x1_0000_0000, offset);
  out.writeUInt32LE(Math.floor(value / 0x1_0000_0000), offset + 4);
}

function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 0x1_0000_0000;
}
