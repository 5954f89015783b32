// Startup scan of a log directory: finds the end of the valid log and tells a torn tail from
// corruption. A record that fails validation is the end of the log unless a valid record after
// it vouches (through its durable lag) that the damaged LSN had been fsynced: then the log was
// damaged after it was made durable, and we refuse to start rather than silently drop commits.
import * as fs from "node:fs";
import * as path from "node:path";
import {
  RECORD_HEADER_BYTES, RECORD_MAGIC, RecordFlags, decodeBody, decodeHeader, recordBytes,
  vouchedLsn, type RecordHeader,
} from "../record.js";
import {
  SEGMENT_HEADER_BYTES, decodeSegmentHeader, parseSegmentFileName, type SegmentHeader,
} from "../segment.js";

export interface ScannedSegment extends SegmentHeader {
  readonly path: string;
  /** LSN of the first record in this segment, null when it holds none. */
  firstLsn: number | null;
  lastLsn: number | null;
  /** Offset just past the last record kept in this segment. */
  endOffset: number;
}

export interface LogScan {
  readonly segments: ScannedSegment[];
  /** LSN of the oldest record still in the log (null: empty log). */
  readonly firstLsn: number | null;
  /** LSN of the last record that ends a transaction (0: none). */
  readonly lastLsn: number;
  /** Header of that record: its WAL position lets recovery salvage commits after it. */
  readonly lastRecord: RecordHeader | null;
  /** Bytes after the end that are not zeros: a torn tail or a dropped partial transaction. */
  readonly tailDirty: boolean;
}

/** The log is damaged inside its durable part; starting would lose acknowledged commits. */
export class LogCorruptionError extends Error {
  override readonly name = "LogCorruptionError";
  readonly hint = "Restore the database from backups (or reseed the mirror); the log cannot be "
    + "trusted past this point.";
  constructor(message: string, readonly segmentPath: string, readonly offset: number) {
    super(message);
  }
}

interface Position { segmentIndex: number; offset: number }

export function scanLog(dir: string): LogScan {
  const segments = listSegments(dir);
  let lastLsn: number | null = null;
  let lastRecord: RecordHeader | null = null;
  let complete = { lsn: 0, record: null as RecordHeader | null, at: null as Position | null };
  let end: Position | null = null;
  for (let s = 0; s < segments.length && end === null; s++) {
    const segment = segments[s]!;
    const fd = fs.openSync(segment.path, "r");
    try {
      let offset = SEGMENT_HEADER_BYTES;
      for (;;) {
        const next = readRecordAt(fd, offset, segment.segmentBytes, lastLsn);
        if (typeof next === "string") {
          if (s + 1 < segments.length && chainsFrom(segments[s + 1]!, lastLsn)) break;
          end = { segmentIndex: s, offset };
          const reason = next;
          checkNotVouched(segments, end, lastLsn ?? 0, reason);
          break;
        }
        segment.firstLsn ??= next.lsn;
        segment.lastLsn = next.lsn;
        lastLsn = next.lsn;
        lastRecord = next;
        offset += recordBytes(next.pageCount, next.pageSize);
        segment.endOffset = offset;
        if ((next.flags & RecordFlags.LAST) !== 0) {
          complete = { lsn: next.lsn, record: lastRecord, at: { segmentIndex: s, offset } };
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return finish(segments, complete, lastLsn);
}

function finish(segments: ScannedSegment[], complete: { lsn: number; record: RecordHeader | null;
  at: Position | null }, lastLsn: number | null): LogScan {
  // A transaction whose LAST chunk never reached the log did not commit: cut it off.
  const cutAt = complete.at ?? { segmentIndex: 0, offset: SEGMENT_HEADER_BYTES };
  const kept = segments.slice(0, cutAt.segmentIndex + 1);
  const cut = kept[cutAt.segmentIndex];
  if (cut !== undefined) {
    cut.endOffset = cutAt.offset;
    if (complete.lsn === 0 || (cut.firstLsn !== null && cut.firstLsn > complete.lsn)) {
      cut.firstLsn = null;
      cut.lastLsn = null;
    } else {
      cut.lastLsn = complete.lsn;
    }
  }
  const tailDirty = (lastLsn ?? 0) > complete.lsn || segments.length > kept.length
    || (cut !== undefined && hasNonZero(cut, cutAt.offset));
  const firstLsn = kept.find((segment) => segment.firstLsn !== null)?.firstLsn ?? null;
  return { segments: kept, firstLsn, lastLsn: complete.lsn, lastRecord: complete.record, tailDirty };
}

function listSegments(dir: string): ScannedSegment[] {
  const numbers = fs.readdirSync(dir).map(parseSegmentFileName)
    .filter((n): n is number => n !== null).sort((a, b) => a - b);
  const segments: ScannedSegment[] = [];
  for (const segmentNo of numbers) {
    const filePath = path.join(dir, `${String(segmentNo).padStart(10, "0")}.seg`);
    const header = readSegmentHeader(filePath);
    if (typeof header === "string") {
      throw new LogCorruptionError(`log segment ${filePath}: ${header}`, filePath, 0);
    }
    if (header.segmentNo !== segmentNo) {
      throw new LogCorruptionError(`log segment ${filePath} says it is ${header.segmentNo}`, filePath, 0);
    }
    const previous = segments[segments.length - 1];
    if (previous !== undefined && previous.segmentNo + 1 !== segmentNo) {
      throw new LogCorruptionError(`log segment ${segmentNo} follows ${previous.segmentNo}`, filePath, 0);
    }
    segments.push({ ...header, path: filePath, firstLsn: null, lastLsn: null,
      endOffset: SEGMENT_HEADER_BYTES });
  }
  return segments;
}

function readSegmentHeader(filePath: string): SegmentHeader | string {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  const fd = fs.openSync(filePath, "r");
  try {
    fs.readSync(fd, buf, 0, buf.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  return decodeSegmentHeader(buf);
}

/** The record at `offset` if it is valid and continues the chain, else why not. */
function readRecordAt(fd: number, offset: number, segmentBytes: number,
  lastLsn: number | null): RecordHeader | string {
  if (offset + RECORD_HEADER_BYTES > segmentBytes) return "end of segment";
  const head = Buffer.alloc(RECORD_HEADER_BYTES);
  fs.readSync(fd, head, 0, head.length, offset);
  const header = decodeHeader(head);
  if (typeof header === "string") return header;
  if (lastLsn !== null && header.prevLsn !== lastLsn) return `lsn ${header.lsn} does not chain`;
  if (offset + recordBytes(header.pageCount, header.pageSize) > segmentBytes) return "record overruns segment";
  const body = Buffer.alloc(header.bodyBytes);
  fs.readSync(fd, body, 0, body.length, offset + RECORD_HEADER_BYTES);
  const pages = decodeBody(header, body);
  return typeof pages === "string" ? `lsn ${header.lsn}: ${pages}` : header;
}

function chainsFrom(segment: ScannedSegment, lastLsn: number | null): boolean {
  const fd = fs.openSync(segment.path, "r");
  try {
    const head = Buffer.alloc(RECORD_HEADER_BYTES);
    fs.readSync(fd, head, 0, head.length, SEGMENT_HEADER_BYTES);
    const header = decodeHeader(head);
    return typeof header !== "string" && lastLsn !== null && header.prevLsn === lastLsn;
  } finally {
    fs.closeSync(fd);
  }
}

/** Throws if any valid record header after `end` vouches for an LSN past `lastLsn`. */
function checkNotVouched(segments: ScannedSegment[], end: Position, lastLsn: number,
  reason: string): void {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(RECORD_MAGIC, 0);
  for (let s = end.segmentIndex; s < segments.length; s++) {
    const segment = segments[s]!;
    const data = fs.readFileSync(segment.path);
    let at = s === end.segmentIndex ? end.offset + 8 : SEGMENT_HEADER_BYTES;
    for (;;) {
      at = data.indexOf(magic, at);
      if (at < 0) break;
      const header = at % 8 === 0 ? decodeHeader(data.subarray(at, at + RECORD_HEADER_BYTES)) : "";
      if (typeof header !== "string" && header.lsn > lastLsn && vouchedLsn(header) > lastLsn) {
        throw new LogCorruptionError(`log corrupt after lsn ${lastLsn} in ${segments[end.segmentIndex]!.path}`
          + ` at offset ${end.offset} (${reason}); lsn ${header.lsn} proves lsn ${lastLsn + 1} was `
          + "durable", segments[end.segmentIndex]!.path, end.offset);
      }
      at += 4;
    }
  }
}

function hasNonZero(segment: ScannedSegment, from: number): boolean {
  const fd = fs.openSync(segment.path, "r");
  try {
    const chunk = Buffer.alloc(1 << 20);
    const zeros = Buffer.alloc(1 << 20);
    for (let at = from; at < segment.segmentBytes; at += chunk.length) {
      const got = fs.readSync(fd, chunk, 0, Math.min(chunk.length, segment.segmentBytes - at), at);
      if (got === 0) break;
      if (!chunk.subarray(0, got).equals(zeros.subarray(0, got))) return true;
    }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}
