// Log record format: one committed transaction (or one chunk of a large one) as whole page
// images. Pure: no I/O. Every field is validated before a length is trusted, and a record is
// checked twice (header CRC, then body CRC) so a reader can tell "cannot even size it" from
// "sized, but its contents are damaged".
//
// Layout (little-endian), header 88 bytes, then the body, then zero padding to 8 bytes:
//   0 magic u32 | 4 version u16 | 6 flags u16 | 8 epoch u32 | 12 pageSize u32
//  16 lsn u64 | 24 prevLsn u64 | 32 dbSizePages u32 | 36 pageCount u32 | 40 bodyBytes u32
//  44 walSalt1 u32 | 48 walSalt2 u32 | 52 walCommitFrame u32 | 56 walChecksum1 u32
//  60 walChecksum2 u32 | 64 durableLag u32 | 68 bodyCrc u32 | 72 commitTimeMs u64
//  80 reserved u32 (0) | 84 headerCrc u32 (over bytes 0..83)
// commitTimeMs: when the writer captured the commit (ms since the Unix epoch); RESTORE … STOPAT
// stops at the last transaction whose LAST chunk carries a time at or before the STOPAT time.
// durableLag = lsn - (the durable LSN when this record was written), capped at 2^32-1: a later
// record vouches that every LSN up to lsn - durableLag had been fsynced before it was written, so
// a damaged record it vouches for is corruption, never a torn write.
// Body: pageCount × (pgno u32, page image of pageSize bytes), pgno strictly ascending.
import { crc32 } from "node:zlib";
import { assert } from "../util/assert.js";

export const RECORD_MAGIC = 0x474f4c4d; // "MLOG"
export const RECORD_VERSION = 2;
export const RECORD_HEADER_BYTES = 88;
const HEADER_CRC_OFFSET = 84;
export const RECORD_ALIGN_BYTES = 8;
/** A transaction larger than this is split into chunks (FIRST ... LAST). */
export const CHUNK_BODY_BYTES_MAX = 4 * 1024 * 1024;
/** Hard bound a reader accepts before trusting a length: one chunk of the largest page size. */
export const RECORD_BODY_BYTES_MAX = CHUNK_BODY_BYTES_MAX + 65536 + 4;

export const RecordFlags = {
  FIRST: 1, // first chunk of a transaction
  LAST: 2, // last chunk: the transaction is complete once this record is in the log
  BASE_IMAGE: 4, // the whole database file at creation (or at a restore); truncates first
} as const;
const FLAGS_KNOWN = RecordFlags.FIRST | RecordFlags.LAST | RecordFlags.BASE_IMAGE;

/** Where the transaction's commit frame sat in SQLite's WAL: lets recovery salvage what follows. */
export interface WalPosition {
  readonly salt1: number;
  readonly salt2: number;
  /** 1-based index of the commit frame; 0 when the record did not come from the WAL. */
  readonly commitFrame: number;
  readonly checksum1: number;
  readonly checksum2: number;
}

export const NO_WAL_POSITION: WalPosition = {
  salt1: 0, salt2: 0, commitFrame: 0, checksum1: 0, checksum2: 0,
};

/** The fields a writer chooses; the rest of a header is derived from the pages. */
interface RecordFields {
  readonly flags: number;
  readonly epoch: number;
  readonly pageSize: number;
  readonly lsn: number;
  readonly prevLsn: number;
  readonly dbSizePages: number;
  readonly wal: WalPosition;
  readonly commitTimeMs: number;
}

export interface RecordHeader extends RecordFields {
  readonly pageCount: number;
  readonly bodyBytes: number;
  readonly durableLag: number;
  readonly bodyCrc: number;
}

export interface PageImage {
  readonly pgno: number;
  readonly data: Uint8Array;
}

export interface RecordInput extends RecordFields {
  readonly pages: readonly PageImage[];
}

export function isPageSize(value: number): boolean {
  return value >= 512 && value <= 65536 && (value & (value - 1)) === 0;
}

/** Bytes a record of `pageCount` pages occupies in the log, padding included. */
export function recordBytes(pageCount: number, pageSize: number): number {
  return alignUp(RECORD_HEADER_BYTES + pageCount * (4 + pageSize));
}

export function alignUp(bytes: number): number {
  return Math.ceil(bytes / RECORD_ALIGN_BYTES) * RECORD_ALIGN_BYTES;
}

/** Encodes a record; asserts the invariants a writer must never break (pair: decode checks them). */
export function encodeRecord(input: RecordInput): Buffer {
  assert(isPageSize(input.pageSize), `bad page size ${input.pageSize}`);
  assert(Number.isSafeInteger(input.lsn) && input.lsn === input.prevLsn + 1 && input.prevLsn >= 0,
    `bad lsn ${input.lsn} after ${input.prevLsn}`);
  assert((input.flags & ~FLAGS_KNOWN) === 0, `unknown flags ${input.flags}`);
  assert(Number.isSafeInteger(input.commitTimeMs) && input.commitTimeMs >= 0, "bad commit time");
  const bodyBytes = input.pages.length * (4 + input.pageSize);
  assert(bodyBytes <= RECORD_BODY_BYTES_MAX, `record body ${bodyBytes} bytes exceeds the bound`);
  const out = Buffer.alloc(recordBytes(input.pages.length, input.pageSize));
  let offset = RECORD_HEADER_BYTES;
  let previousPgno = 0;
  for (const page of input.pages) {
    assert(page.pgno > previousPgno, `pages not ascending at ${page.pgno}`);
    assert(page.data.length === input.pageSize, `page ${page.pgno} is ${page.data.length} bytes`);
    previousPgno = page.pgno;
    out.writeUInt32LE(page.pgno, offset);
    out.set(page.data, offset + 4);
    offset += 4 + input.pageSize;
  }
  const bodyCrc = crc32(out.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + bodyBytes));
  writeHeader(out, { ...input, pageCount: input.pages.length, bodyBytes, bodyCrc,
    durableLag: 0xffff_ffff });
  return out;
}

function writeHeader(out: Buffer, h: RecordHeader): void {
  out.writeUInt32LE(RECORD_MAGIC, 0);
  out.writeUInt16LE(RECORD_VERSION, 4);
  out.writeUInt16LE(h.flags, 6);
  out.writeUInt32LE(h.epoch >>> 0, 8);
  out.writeUInt32LE(h.pageSize, 12);
  writeU64(out, h.lsn, 16);
  writeU64(out, h.prevLsn, 24);
  out.writeUInt32LE(h.dbSizePages, 32);
  out.writeUInt32LE(h.pageCount, 36);
  out.writeUInt32LE(h.bodyBytes, 40);
  out.writeUInt32LE(h.wal.salt1 >>> 0, 44);
  out.writeUInt32LE(h.wal.salt2 >>> 0, 48);
  out.writeUInt32LE(h.wal.commitFrame >>> 0, 52);
  out.writeUInt32LE(h.wal.checksum1 >>> 0, 56);
  out.writeUInt32LE(h.wal.checksum2 >>> 0, 60);
  out.writeUInt32LE(h.durableLag >>> 0, 64);
  out.writeUInt32LE(h.bodyCrc >>> 0, 68);
  writeU64(out, h.commitTimeMs, 72);
  out.writeUInt32LE(crc32(out.subarray(0, HEADER_CRC_OFFSET)), HEADER_CRC_OFFSET);
}

/** Stamps how far durability had come when the log writer wrote this record (see layout). */
export function stampDurableLsn(record: Buffer, lsn: number, durableLsn: number): void {
  const lag = Math.min(lsn - durableLsn, 0xffff_ffff);
  assert(lag >= 1, `record ${lsn} written with durable lsn ${durableLsn}`);
  record.writeUInt32LE(lag, 64);
  record.writeUInt32LE(crc32(record.subarray(0, HEADER_CRC_OFFSET)), HEADER_CRC_OFFSET);
}

/** The highest LSN this record proves was durable before it was written. */
export function vouchedLsn(header: RecordHeader): number {
  return header.lsn - header.durableLag;
}

function writeU64(out: Buffer, value: number, offset: number): void {
  out.writeUInt32LE(value % 0x1_0000_0000, offset);
  out.writeUInt32LE(Math.floor(value / 0x1_0000_0000), offset + 4);
}

function readU64(view: Buffer, offset: number): number {
  return view.readUInt32LE(offset) + view.readUInt32LE(offset + 4) * 0x1_0000_0000;
}

/**
 * Decodes and validates a header. Returns the header, or a reason string when these 80 bytes
 * are not a valid record header (zeros of a preallocated segment, a torn write, damage).
 */
export function decodeHeader(buf: Uint8Array): RecordHeader | string {
  if (buf.length < RECORD_HEADER_BYTES) return "short header";
  const view = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, RECORD_HEADER_BYTES);
  if (view.readUInt32LE(0) !== RECORD_MAGIC) return "no record magic";
  if (crc32(view.subarray(0, HEADER_CRC_OFFSET)) !== view.readUInt32LE(HEADER_CRC_OFFSET)) {
    return "header checksum mismatch";
  }
  if (view.readUInt16LE(4) !== RECORD_VERSION) return `unknown record version ${view.readUInt16LE(4)}`;
  const flags = view.readUInt16LE(6);
  if ((flags & ~FLAGS_KNOWN) !== 0) return `unknown flags ${flags}`;
  if (view.readUInt32LE(80) !== 0) return "reserved bytes not zero";
  const header: RecordHeader = {
    flags,
    epoch: view.readUInt32LE(8),
    pageSize: view.readUInt32LE(12),
    lsn: readU64(view, 16),
    prevLsn: readU64(view, 24),
    dbSizePages: view.readUInt32LE(32),
    pageCount: view.readUInt32LE(36),
    bodyBytes: view.readUInt32LE(40),
    wal: {
      salt1: view.readUInt32LE(44), salt2: view.readUInt32LE(48),
      commitFrame: view.readUInt32LE(52),
      checksum1: view.readUInt32LE(56), checksum2: view.readUInt32LE(60),
    },
    durableLag: view.readUInt32LE(64),
    bodyCrc: view.readUInt32LE(68),
    commitTimeMs: readU64(view, 72),
  };
  return validateHeader(header);
}

function validateHeader(h: RecordHeader): RecordHeader | string {
  if (!isPageSize(h.pageSize)) return `bad page size ${h.pageSize}`;
  if (h.bodyBytes > RECORD_BODY_BYTES_MAX) return `body of ${h.bodyBytes} bytes exceeds the bound`;
  if (h.bodyBytes !== h.pageCount * (4 + h.pageSize)) return "body length disagrees with page count";
  if (h.lsn !== h.prevLsn + 1) return `lsn ${h.lsn} does not follow prevLsn ${h.prevLsn}`;
  if (h.durableLag < 1) return "durable lag below 1";
  return h;
}

/** Checks the body CRC and the page list; returns the pages (views into `body`) or a reason. */
export function decodeBody(header: RecordHeader, body: Uint8Array): PageImage[] | string {
  if (body.length < header.bodyBytes) return "short body";
  if (crc32(body.subarray(0, header.bodyBytes)) !== header.bodyCrc) return "body checksum mismatch";
  return splitBody(header, body);
}

/**
 * The page list of a body whose CRC is already known to hold (a record this process built or
 * read back through decodeBody): checks only the page numbers.
 */
export function splitBody(header: RecordHeader, body: Uint8Array): PageImage[] | string {
  if (body.length < header.bodyBytes) return "short body";
  const exact = body.subarray(0, header.bodyBytes);
  const view = Buffer.from(exact.buffer, exact.byteOffset, exact.byteLength);
  const pages: PageImage[] = [];
  let previousPgno = 0;
  for (let offset = 0; offset < header.bodyBytes; offset += 4 + header.pageSize) {
    const pgno = view.readUInt32LE(offset);
    if (pgno <= previousPgno) return `page numbers not ascending at ${pgno}`;
    previousPgno = pgno;
    pages.push({ pgno, data: exact.subarray(offset + 4, offset + 4 + header.pageSize) });
  }
  return pages;
}

export function isTransactionEnd(header: RecordHeader): boolean {
  return (header.flags & RecordFlags.LAST) !== 0;
}
