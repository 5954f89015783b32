// Reading and writing backup media files (format in media_format.ts and docs/backup-format.md).
// Reads never trust a length before its header CRC checked out, and never load a set whole:
// data frames stream one at a time. Writes append frames and fsync before a set counts.
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { promisify } from "node:util";
import { deflateRaw, inflateRaw, crc32 } from "node:zlib";
import { SqlError } from "../errors/sql_error.js";
import { PositionedWriter } from "./positioned_writer.js";
import {
  FRAME_HEADER_BYTES, FrameFlags, FrameKind, MEDIA_HEADER_KEYS, SET_HEADER_KEYS, SET_TRAILER_KEYS,
  chainCrc, decodeFrameHeader, encodeFrameHeader, encodeJsonFrame, frameBytes, framePadding, parseJsonPayload,
  type BackupSetHeader, type BackupSetTrailer, type FrameHeader, type FrameKindValue, type MediaHeader,
} from "./media_format.js";

const read = promisify(fs.read);
const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

export interface ScannedSet {
  readonly header: BackupSetHeader;
  readonly trailer: BackupSetTrailer;
  /** Offset of the first data frame and of the first byte after SET_END. */
  readonly dataOffset: number;
  readonly endOffset: number;
}

export interface MediaScan {
  readonly path: string;
  readonly media: MediaHeader;
  /** Offset right after the media header: where set 1 starts (INIT writes from here). */
  readonly mediaEndOffset: number;
  readonly sets: ScannedSet[];
  /** Where the next set is written: after the last complete set. */
  readonly appendOffset: number;
  /** A set that was begun but has no valid SET_END (cut or damaged), with its position. */
  readonly incomplete: { readonly position: number; readonly reason: string } | null;
}

/** SQL Server's wording of the OS errors a backup device reports (3201/3202/3203). */
export function osErrorText(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "ENOENT": return "2(The system cannot find the file specified.)";
    case "ENOTDIR": return "3(The system cannot find the path specified.)";
    case "EACCES": case "EPERM": case "EISDIR": return "5(Access is denied.)";
    case "ENOSPC": return "112(There is not enough space on the disk.)";
    default: return `${error.errno ?? 0}(${error.message})`;
  }
}

export function openForRead(devicePath: string): number {
  try {
    const fd = fs.openSync(devicePath, "r");
    if (fs.fstatSync(fd).isDirectory()) {
      fs.closeSync(fd);
      throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    }
    return fd;
  } catch (error) {
    throw new SqlError("BACKUP_DEVICE_OPEN_FAILED", [devicePath, osErrorText(error as NodeJS.ErrnoException)]);
  }
}

/** Reads one frame header at `offset`: a reason string when there is none or it is damaged. */
async function frameAt(fd: number, offset: number, size: number): Promise<FrameHeader | string> {
  if (offset + FRAME_HEADER_BYTES > size) return offset === size ? "end of file" : "truncated frame";
  const head = Buffer.alloc(FRAME_HEADER_BYTES);
  await read(fd, head, 0, FRAME_HEADER_BYTES, offset);
  const header = decodeFrameHeader(head);
  if (typeof header === "string") return header;
  if (offset + frameBytes(header.storedBytes) > size) return "truncated frame";
  return header;
}

async function readStored(fd: number, offset: number, header: FrameHeader): Promise<Buffer> {
  // Unzeroed: frameAt checked that the whole frame is inside the file, so the read fills it.
  const stored = Buffer.allocUnsafe(header.storedBytes);
  const { bytesRead } = await read(fd, stored, 0, stored.length, offset + FRAME_HEADER_BYTES);
  if (bytesRead !== stored.length) throw frameError("", "truncated frame");
  return stored;
}

async function jsonFrame<T>(fd: number, offset: number, header: FrameHeader,
  keys: readonly string[]): Promise<T | null> {
  const stored = await readStored(fd, offset, header);
  if (crc32(stored) !== header.payloadCrc) return null;
  return parseJsonPayload<T>(stored, keys);
}

/** Lists the complete sets on a device. A file that is not backup media gives 3241. */
export async function scanMedia(devicePath: string): Promise<MediaScan> {
  const fd = openForRead(devicePath);
  try {
    const size = fs.fstatSync(fd).size;
    const first = await frameAt(fd, 0, size);
    const media = typeof first === "string" || first.kind !== FrameKind.MEDIA ? null
      : await jsonFrame<MediaHeader>(fd, 0, first, MEDIA_HEADER_KEYS);
    if (media === null || media.format !== "mirrorlite-backup" || typeof first === "string") {
      throw new SqlError("BACKUP_MEDIA_MALFORMED", [devicePath]);
    }
    return await scanSets(fd, devicePath, media, frameBytes(first.storedBytes), size);
  } finally {
    fs.closeSync(fd);
  }
}

async function scanSets(fd: number, devicePath: string, media: MediaHeader, start: number,
  size: number): Promise<MediaScan> {
  const sets: ScannedSet[] = [];
  const base = { path: devicePath, media, mediaEndOffset: start, sets };
  let offset = start;
  for (;;) {
    const begin = await frameAt(fd, offset, size);
    if (begin === "end of file") return { ...base, appendOffset: offset, incomplete: null };
    const position = sets.length + 1;
    const header = typeof begin === "string" || begin.kind !== FrameKind.SET_BEGIN ? null
      : await jsonFrame<BackupSetHeader>(fd, offset, begin, SET_HEADER_KEYS);
    if (header === null || typeof begin === "string") {
      return { ...base, appendOffset: offset,
        incomplete: { position, reason: typeof begin === "string" ? begin : "damaged set header" } };
    }
    const dataOffset = offset + frameBytes(begin.storedBytes);
    const end = await findSetEnd(fd, dataOffset, size);
    if (typeof end === "string") {
      return { ...base, appendOffset: offset, incomplete: { position, reason: end } };
    }
    const trailer = await jsonFrame<BackupSetTrailer>(fd, end.offset, end.header, SET_TRAILER_KEYS);
    if (trailer === null || trailer.backupSetGuid !== header.backupSetGuid) {
      return { ...base, appendOffset: offset,
        incomplete: { position, reason: "damaged set trailer" } };
    }
    offset = end.offset + frameBytes(end.header.storedBytes);
    sets.push({ header: { ...header, position }, trailer, dataOffset, endOffset: offset });
  }
}

/** Skips data frames (headers only) to the set's SET_END. */
async function findSetEnd(fd: number, offset: number, size: number):
  Promise<{ offset: number; header: FrameHeader } | string> {
  for (;;) {
    const frame = await frameAt(fd, offset, size);
    if (typeof frame === "string") return frame === "end of file" ? "truncated set" : frame;
    if (frame.kind === FrameKind.SET_END) return { offset, header: frame };
    if (frame.kind !== FrameKind.PAGES && frame.kind !== FrameKind.LOG) return "unexpected frame in a set";
    offset += frameBytes(frame.storedBytes);
  }
}

export function findSet(scan: MediaScan, position: number): ScannedSet {
  const set = scan.sets[position - 1];
  if (set !== undefined) return set;
  if (scan.incomplete?.position === position) {
    throw new SqlError("BACKUP_DEVICE_READ_FAILED", [scan.path, "38(Reached the end of the file.)"]);
  }
  throw new SqlError("BACKUP_NO_SET_AT_POSITION", [position, scan.path]);
}

export interface DataFrame {
  readonly kind: FrameKindValue;
  readonly arg0: number;
  readonly arg1: number;
  readonly payload: Buffer;
}

/**
 * The set's data frames in order, each checked (CRC, lengths, decompression) before it is
 * yielded; the set CRC and frame count are checked against SET_END at the end. Damage gives
 * 3189, a cut 3203.
 */
export async function* readSetFrames(scan: MediaScan, set: ScannedSet): AsyncGenerator<DataFrame> {
  const fd = openForRead(scan.path);
  try {
    const size = fs.fstatSync(fd).size;
    let offset = set.dataOffset;
    let setCrc = 0;
    let frames = 0;
    for (;;) {
      const header = await frameAt(fd, offset, size);
      if (typeof header === "string") throw frameError(scan.path, header);
      if (header.kind === FrameKind.SET_END) break;
      const stored = await readStored(fd, offset, header);
      if (crc32(stored) !== header.payloadCrc) throw damaged(`frame ${frames + 1} fails its checksum`);
      const payload = (header.flags & FrameFlags.DEFLATE) === 0 ? stored : await inflateChecked(stored, header);
      setCrc = chainCrc(setCrc, header.payloadCrc);
      frames++;
      yield { kind: header.kind, arg0: header.arg0, arg1: header.arg1, payload };
      offset += frameBytes(header.storedBytes);
    }
    if (frames !== set.trailer.frameCount || setCrc !== set.trailer.setCrc) {
      throw damaged("the set checksum does not match its frames");
    }
  } finally {
    fs.closeSync(fd);
  }
}

async function inflateChecked(stored: Buffer, header: FrameHeader): Promise<Buffer> {
  let payload: Buffer;
  try {
    payload = await inflate(stored, { maxOutputLength: header.payloadBytes + 1 });
  } catch {
    throw damaged("a compressed frame cannot be decompressed");
  }
  if (payload.length !== header.payloadBytes) throw damaged("a decompressed frame has the wrong length");
  return payload;
}

function frameError(devicePath: string, reason: string): SqlError {
  if (reason === "truncated frame" || reason === "end of file") {
    return new SqlError("BACKUP_DEVICE_READ_FAILED", [devicePath, "38(Reached the end of the file.)"]);
  }
  return damaged(reason);
}

function damaged(reason: string): SqlError {
  return new SqlError("BACKUP_DAMAGED", [reason]);
}

export interface WriteOptions {
  readonly init: boolean;
  /** SKIP: do not check the media set's name (FORMAT implies it). */
  readonly skip: boolean;
  readonly format: boolean;
  readonly mediaName: string | null;
  readonly mediaDescription: string | null;
  readonly softwareVersion: string;
  readonly now: Date;
}

/**
 * Appends one backup set. `begin` (SET_BEGIN, already at its position) is written first, data
 * frames as they come, `finish` writes SET_END and fsyncs: only then does the set exist.
 */
export class MediaWriter {
  private setCrc = 0;
  private frames = 0;
  private storedBytes = 0;
  private backupBytes = 0;

  private readonly writes: PositionedWriter | null;

  private constructor(readonly devicePath: string, private readonly fd: number | null,
    private offset: number, readonly position: number, readonly media: MediaHeader | null) {
    this.writes = fd === null ? null : new PositionedWriter(fd);
  }

  /** Opens the device for a new set; the NUL device discards everything. */
  static async open(devicePath: string, options: WriteOptions): Promise<MediaWriter> {
    if (devicePath.toUpperCase() === "NUL") return new MediaWriter(devicePath, null, 0, 1, null);
    const existing = options.format ? null : await existingMedia(devicePath);
    let fd: number;
    try {
      fd = fs.openSync(devicePath, fs.existsSync(devicePath) ? "r+" : "w+");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const text = code === "ENOENT" ? "3(The system cannot find the path specified.)"
        : osErrorText(error as NodeJS.ErrnoException);
      throw new SqlError("BACKUP_DEVICE_OPEN_FAILED", [devicePath, text]);
    }
    if (existing !== null && existing !== "invalid" && options.mediaName !== null && !options.skip
      && existing.media.mediaName !== options.mediaName) {
      throw new SqlError("BACKUP_MEDIANAME_MISMATCH", [options.mediaName, existing.media.mediaName ?? "", devicePath]);
    }
    if (existing !== null && existing !== "invalid") {
      const offset = options.init ? existing.mediaEndOffset : existing.appendOffset;
      fs.ftruncateSync(fd, offset);
      return new MediaWriter(devicePath, fd, offset, options.init ? 1 : existing.sets.length + 1,
        existing.media);
    }
    if (existing === "invalid" && !options.init) {
      fs.closeSync(fd);
      throw new SqlError("BACKUP_MEDIA_MALFORMED", [devicePath]);
    }
    const media: MediaHeader = {
      format: "mirrorlite-backup", formatVersion: 1, mediaSetGuid: randomUUID(),
      mediaName: options.mediaName, mediaDescription: options.mediaDescription,
      createdAt: options.now.toISOString(), softwareName: "mirrorlite",
      softwareVersion: options.softwareVersion, familyCount: 1, familySequenceNumber: 1,
    };
    fs.ftruncateSync(fd, 0);
    const writer = new MediaWriter(devicePath, fd, 0, 1, media);
    await writer.writeRaw(encodeJsonFrame(FrameKind.MEDIA, media));
    return writer;
  }

  async begin(header: BackupSetHeader): Promise<void> {
    await this.writeRaw(encodeJsonFrame(FrameKind.SET_BEGIN, { ...header, position: this.position }));
  }

  /** One data frame; compressed (off the event loop) when asked and when it helps. */
  async data(kind: FrameKindValue, payload: Buffer, arg0: number, arg1: number, compress: boolean): Promise<void> {
    let stored: Buffer = payload;
    let flags = 0;
    if (compress) {
      const packed = await deflate(payload, { level: 1 });
      if (packed.length < payload.length) {
        stored = packed;
        flags = FrameFlags.DEFLATE;
      }
    }
    const header = encodeFrameHeader(kind, stored, payload.length, { flags, arg0, arg1 });
    this.setCrc = chainCrc(this.setCrc, header.readUInt32LE(32));
    this.frames++;
    this.backupBytes += payload.length;
    await this.writeRaw(header, stored, framePadding(stored.length));
  }

  /** Writes SET_END and makes the set durable; returns the trailer written. */
  async finish(fields: Omit<BackupSetTrailer, "position" | "frameCount" | "setCrc" | "backupSizeBytes"
    | "storedSizeBytes">): Promise<BackupSetTrailer> {
    const trailer: BackupSetTrailer = { ...fields, position: this.position, frameCount: this.frames,
      setCrc: this.setCrc, backupSizeBytes: this.backupBytes, storedSizeBytes: this.storedBytes };
    await this.writeRaw(encodeJsonFrame(FrameKind.SET_END, trailer));
    await this.drain();
    if (this.fd !== null) fs.fsyncSync(this.fd);
    return trailer;
  }

  /** Closes the device once no write is running (a failed backup may leave some queued). */
  async close(): Promise<void> {
    await this.writes?.drain().catch(() => undefined);
    if (this.fd !== null) fs.closeSync(this.fd);
  }

  private async drain(): Promise<void> {
    try {
      await this.writes?.drain();
    } catch (error) {
      throw new SqlError("BACKUP_DEVICE_WRITE_FAILED", [this.devicePath, osErrorText(error as NodeJS.ErrnoException)]);
    }
  }

  /** Queues the parts back to back at the current offset (no copy into one buffer). */
  private async writeRaw(...parts: Buffer[]): Promise<void> {
    const total = parts.reduce((sum, part) => sum + part.length, 0);
    this.storedBytes += total;
    if (this.writes === null) return;
    try {
      await this.writes.write(parts, this.offset);
    } catch (error) {
      throw new SqlError("BACKUP_DEVICE_WRITE_FAILED", [this.devicePath, osErrorText(error as NodeJS.ErrnoException)]);
    }
    this.offset += total;
  }
}

/** The media on the device, null when there is no file, "invalid" when it is not backup media. */
async function existingMedia(devicePath: string): Promise<MediaScan | "invalid" | null> {
  if (!fs.existsSync(devicePath)) return null;
  if (fs.statSync(devicePath).size === 0) return null;
  try {
    return await scanMedia(devicePath);
  } catch (error) {
    if (error instanceof SqlError && error.number === 3241) return "invalid";
    throw error;
  }
}
