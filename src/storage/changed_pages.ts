// The differential changed-page map (SQL Server's DCM, per page rather than per extent): which
// pages changed after the differential base, a full backup's LSN. A differential backup reads
// only these pages. The map must outlive the log records it was built from, so it is persisted
// (atomically, with a CRC) before any log truncation and at every checkpoint; at open, records
// after the persisted LSN are replayed into it.
//
// File "changed-pages" (little-endian): 0 magic u32 "MDCM" | 4 version u16 | 6 reserved u16
//   8 baseLsn u64 | 16 coveredLsn u64 | 24 bitmapBytes u32 | 28 crc32 u32 (of bytes 0..27 and the
//   bitmap) | 32 bitmap (bit pgno-1 of byte (pgno-1)>>3 set when page pgno changed)
import * as fs from "node:fs";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import { fsyncDirectory } from "../log/runtime/log_writer.js";

const MAGIC = 0x4d43444d; // "MDCM"
const VERSION = 1;
const HEADER_BYTES = 32;
const FILE_NAME = "changed-pages";
/** 2^32 pages is SQLite's own limit; the bitmap for that is 512 MiB, so bound it there. */
const BITMAP_BYTES_MAX = 2 ** 29;

export class ChangedPageMap {
  private bitmap: Uint8Array;

  constructor(readonly baseLsn: number, public coveredLsn: number, bitmap?: Uint8Array) {
    this.bitmap = bitmap ?? new Uint8Array(64);
  }

  /** Marks the pages of one log record (lsn) as changed. */
  notePages(lsn: number, pgnos: Iterable<number>): void {
    for (const pgno of pgnos) {
      const byte = (pgno - 1) >>> 3;
      if (byte >= this.bitmap.length) this.grow(byte + 1);
      this.bitmap[byte]! |= 1 << ((pgno - 1) & 7);
    }
    if (lsn > this.coveredLsn) this.coveredLsn = lsn;
  }


  /** Changed pages up to `dbSizePages`, ascending. */
  *pages(dbSizePages: number): Generator<number> {
    const bytes = Math.min(this.bitmap.length, Math.ceil(dbSizePages / 8));
    for (let byte = 0; byte < bytes; byte++) {
      const bits = this.bitmap[byte]!;
      if (bits === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        const pgno = byte * 8 + bit + 1;
        if ((bits & (1 << bit)) !== 0 && pgno <= dbSizePages) yield pgno;
      }
    }
  }


  /** Writes the map atomically (temp file, fsync, rename, fsync directory). */
  persist(dir: string): void {
    const out = Buffer.alloc(HEADER_BYTES + this.bitmap.length);
    out.writeUInt32LE(MAGIC, 0);
    out.writeUInt16LE(VERSION, 4);
    writeU64(out, this.baseLsn, 8);
    writeU64(out, this.coveredLsn, 16);
    out.writeUInt32LE(this.bitmap.length, 24);
    out.set(this.bitmap, HEADER_BYTES);
    out.writeUInt32LE(crc32(out.subarray(HEADER_BYTES), crc32(out.subarray(0, 28))), 28);
    const file = path.join(dir, FILE_NAME);
    const fd = fs.openSync(`${file}.tmp`, "w");
    try {
      fs.writeSync(fd, out);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(`${file}.tmp`, file);
    fsyncDirectory(dir);
  }

  /** The persisted map, null when there is none; a damaged file is an error, never ignored. */
  static load(dir: string): ChangedPageMap | null {
    const file = path.join(dir, FILE_NAME);
    if (!fs.existsSync(file)) return null;
    const data = fs.readFileSync(file);
    const reason = validate(data);
    if (reason !== null) throw new Error(`${file}: ${reason}; take a full backup to start a new map`);
    const bitmap = new Uint8Array(data.subarray(HEADER_BYTES));
    return new ChangedPageMap(readU64(data, 8), readU64(data, 16), bitmap);
  }


  private grow(bytes: number): void {
    if (bytes > BITMAP_BYTES_MAX) throw new Error(`changed-page map beyond ${BITMAP_BYTES_MAX} bytes`);
    const next = new Uint8Array(Math.min(BITMAP_BYTES_MAX, Math.max(bytes, this.bitmap.length * 2)));
    next.set(this.bitmap);
    this.bitmap = next;
  }
}

function validate(data: Buffer): string | null {
  if (data.length < HEADER_BYTES || data.readUInt32LE(0) !== MAGIC) return "not a changed-page map";
  if (data.readUInt16LE(4) !== VERSION) return `unknown version ${data.readUInt16LE(4)}`;
  if (data.readUInt32LE(24) !== data.length - HEADER_BYTES) return "bitmap length disagrees";
  const crc = crc32(data.subarray(HEADER_BYTES), crc32(data.subarray(0, 28)));
  return crc === data.readUInt32LE(28) ? null : "checksum mismatch";
}

/** The page numbers a record's body holds (pageCount × (pgno u32, page)). */
export function* recordPageNumbers(body: Uint8Array, pageCount: number, pageSize: number): Generator<number> {
  const view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  for (let i = 0; i < pageCount; i++) yield view.readUInt32LE(i * (4 + pageSize));
}

function writeU64(out: Buffer, value: number, offset: number): void {
  out.writeUInt32LE(value % 0x1_0000_0000, offset);
  out.writeUInt32LE(Math.floor(value / 0x1_0000_0000), offset + 4);
}

function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 0x1_0000_0000;
}
