// Reading the log from any LSN: for log backups, shipping to a mirror, snapshots, redo and
// rebuilds. Readers see only records the caller bounds them to (normally the durable LSN), and
// validate every record again after reading it (pair of the writer's assertions).
import * as fs from "node:fs";
import { promisify } from "node:util";
import {
  RECORD_HEADER_BYTES, decodeBody, decodeHeader, recordBytes, type PageImage, type RecordHeader,
} from "../record.js";
import { SEGMENT_HEADER_BYTES } from "../segment.js";
import type { LogSegment } from "./log_writer.js";
import { LogCorruptionError } from "./log_scan.js";

const read = promisify(fs.read);

export interface LogRecord {
  readonly header: RecordHeader;
  readonly pages: PageImage[];
  /** Segment file and byte offset of the record, for readers that come back for pages. */
  readonly segmentPath: string;
  readonly offset: number;
}

/** Asked for records the log no longer (or never) had. */
export class LogTruncatedError extends Error {
  override readonly name = "LogTruncatedError";
  readonly hint = "The log was truncated past this LSN; start from a newer backup.";
}

/** Byte offset, inside its segment file, of page `index` of a record at `recordOffset`. */
export function pageDataOffset(recordOffset: number, index: number, pageSize: number): number {
  return recordOffset + RECORD_HEADER_BYTES + index * (4 + pageSize) + 4;
}

/** Reads records fromLsn..toLsn (inclusive), in order, asynchronously. */
export async function* readLog(segments: readonly LogSegment[], fromLsn: number,
  toLsn: number): AsyncGenerator<LogRecord> {
  if (fromLsn > toLsn) return;
  const start = startSegment(segments, fromLsn);
  let expected = fromLsn;
  for (const segment of segments.slice(start)) {
    if (segment.firstLsn === null || expected > toLsn) break;
    const fd = fs.openSync(segment.path, "r");
    try {
      let offset = SEGMENT_HEADER_BYTES;
      while (offset < segment.endOffset && expected <= toLsn) {
        const head = Buffer.alloc(RECORD_HEADER_BYTES);
        await read(fd, head, 0, head.length, offset);
        const header = checkedHeader(head, segment, offset);
        const size = recordBytes(header.pageCount, header.pageSize);
        if (header.lsn >= expected) {
          const body = Buffer.alloc(header.bodyBytes);
          await read(fd, body, 0, body.length, offset + RECORD_HEADER_BYTES);
          yield checkedRecord(header, body, segment, offset, expected);
          expected++;
        }
        offset += size;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  if (expected <= toLsn) throw new LogTruncatedError(`log ends before lsn ${expected}`);
}

/** The same as readLog, synchronously: for startup recovery and rebuilds, with SQLite closed. */
export function forEachRecordSync(segments: readonly LogSegment[], fromLsn: number, toLsn: number,
  visit: (record: LogRecord) => void): void {
  if (fromLsn > toLsn) return;
  let expected = fromLsn;
  for (const segment of segments.slice(startSegment(segments, fromLsn))) {
    if (segment.firstLsn === null || expected > toLsn) break;
    const fd = fs.openSync(segment.path, "r");
    try {
      for (let offset = SEGMENT_HEADER_BYTES; offset < segment.endOffset && expected <= toLsn;) {
        const head = Buffer.alloc(RECORD_HEADER_BYTES);
        fs.readSync(fd, head, 0, head.length, offset);
        const header = checkedHeader(head, segment, offset);
        if (header.lsn >= expected) {
          const body = Buffer.alloc(header.bodyBytes);
          fs.readSync(fd, body, 0, body.length, offset + RECORD_HEADER_BYTES);
          visit(checkedRecord(header, body, segment, offset, expected));
          expected++;
        }
        offset += recordBytes(header.pageCount, header.pageSize);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  if (expected <= toLsn) throw new LogTruncatedError(`log ends before lsn ${expected}`);
}

function startSegment(segments: readonly LogSegment[], fromLsn: number): number {
  const first = segments.find((segment) => segment.firstLsn !== null)?.firstLsn ?? null;
  if (first === null || fromLsn < first) {
    throw new LogTruncatedError(`lsn ${fromLsn} is no longer in the log (oldest ${first ?? "none"})`);
  }
  let index = 0;
  segments.forEach((segment, i) => {
    if (segment.firstLsn !== null && segment.firstLsn <= fromLsn) index = i;
  });
  return index;
}

function checkedHeader(head: Buffer, segment: LogSegment, offset: number): RecordHeader {
  const header = decodeHeader(head);
  if (typeof header === "string") {
    throw new LogCorruptionError(`${segment.path} at ${offset}: ${header}`, segment.path, offset);
  }
  return header;
}

function checkedRecord(header: RecordHeader, body: Buffer, segment: LogSegment, offset: number,
  expected: number): LogRecord {
  if (header.lsn !== expected) {
    throw new LogCorruptionError(`${segment.path} at ${offset}: lsn ${header.lsn}, expected ${expected}`,
      segment.path, offset);
  }
  const pages = decodeBody(header, body);
  if (typeof pages === "string") {
    throw new LogCorruptionError(`${segment.path} at ${offset}: ${pages}`, segment.path, offset);
  }
  return { header, pages, segmentPath: segment.path, offset };
}

/** A record as its exact bytes (header and body, no padding), validated like readLog's. */
export interface RawLogRecord {
  readonly header: RecordHeader;
  readonly bytes: Buffer;
}

/** Bytes read per call by readLogRaw: at least one record of the largest size fits. */
const RAW_READ_BYTES = 8 * 1024 * 1024;

/**
 * Records fromLsn..toLsn as raw bytes, read in large sequential chunks: log backups and
 * shipping copy records whole, and one read per record would cost more than the copy.
 */
export async function* readLogRaw(segments: readonly LogSegment[], fromLsn: number,
  toLsn: number): AsyncGenerator<RawLogRecord> {
  if (fromLsn > toLsn) return;
  let expected = fromLsn;
  for (const segment of segments.slice(startSegment(segments, fromLsn))) {
    if (segment.firstLsn === null || expected > toLsn) break;
    const fd = fs.openSync(segment.path, "r");
    try {
      const buffer = Buffer.alloc(Math.min(RAW_READ_BYTES, segment.endOffset));
      let bufferStart = 0;
      let bufferEnd = 0;
      for (let offset = SEGMENT_HEADER_BYTES; offset < segment.endOffset && expected <= toLsn;) {
        if (offset + RECORD_HEADER_BYTES > bufferEnd) {
          ({ bufferStart, bufferEnd } = await refill(fd, buffer, offset, segment.endOffset));
        }
        const header = checkedHeader(buffer.subarray(offset - bufferStart), segment, offset);
        const exact = RECORD_HEADER_BYTES + header.bodyBytes;
        if (offset + exact > bufferEnd) {
          ({ bufferStart, bufferEnd } = await refill(fd, buffer, offset, segment.endOffset));
        }
        if (header.lsn >= expected) {
          const bytes = Buffer.from(buffer.subarray(offset - bufferStart, offset - bufferStart + exact));
          checkedRecord(header, bytes.subarray(RECORD_HEADER_BYTES), segment, offset, expected);
          yield { header, bytes };
          expected++;
        }
        offset += recordBytes(header.pageCount, header.pageSize);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  if (expected <= toLsn) throw new LogTruncatedError(`log ends before lsn ${expected}`);
}

async function refill(fd: number, buffer: Buffer, offset: number, end: number):
  Promise<{ bufferStart: number; bufferEnd: number }> {
  const length = Math.min(buffer.length, end - offset);
  const { bytesRead } = await read(fd, buffer, 0, length, offset);
  return { bufferStart: offset, bufferEnd: offset + bytesRead };
}
