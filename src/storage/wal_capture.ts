// Reads newly committed transactions out of SQLite's WAL right after each commit (and, at
// startup, the commits a crash left behind). Only frames up to a commit frame are consumed:
// frames after the last commit belong to an open, spilled or rolled-back transaction and are
// unstable (SQLite rewrites them in place and recomputes their checksums at commit).
//
// Memory stays bounded for any transaction size: the scan keeps only pgno -> frame offset,
// and pages are read again, in page order, when records are built.
import * as fs from "node:fs";
import { assert } from "../util/assert.js";
import {
  CHUNK_BODY_BYTES_MAX, NO_WAL_POSITION, RecordFlags, encodeRecord, type PageImage, type WalPosition,
} from "../log/record.js";
import {
  WAL_FRAME_HEADER_BYTES, WAL_HEADER_BYTES, checkFrame, frameOffset, parseWalHeader,
  type WalHeader,
} from "./wal_format.js";

/** Where capture stands: just after the last consumed commit frame of one WAL generation. */
export interface CapturePosition {
  readonly header: WalHeader;
  /** 1-based index of the next frame to read. */
  readonly nextFrame: number;
  readonly checksum1: number;
  readonly checksum2: number;
}

/** One committed transaction found in the WAL; pages are referenced, not held. */
export interface CapturedTransaction {
  readonly pageSize: number;
  readonly dbSizePages: number;
  /** Page number -> byte offset of its newest frame in this transaction, ascending by pgno. */
  readonly frames: ReadonlyArray<readonly [pgno: number, offset: number]>;
  readonly wal: WalPosition;
}

const SCAN_FRAMES_FIRST = 2;
const SCAN_FRAMES_MAX = 256;

export class WalCapture {
  private fd: number | null = null;
  private positionNow: CapturePosition | null;
  /** Set by a checkpoint that backfilled every frame: only then may SQLite restart the WAL. */
  private restartAllowed = false;

  constructor(private readonly walPath: string, start: CapturePosition | null = null) {
    this.positionNow = start;
  }

  get position(): CapturePosition | null {
    return this.positionNow;
  }

  /** Called after a checkpoint that copied every captured frame into the database file. */
  allowRestart(): void {
    this.restartAllowed = true;
  }

  /** Returns every transaction committed since the last poll, oldest first. */
  poll(): CapturedTransaction[] {
    if (!this.openIfPresent()) return [];
    const header = this.readHeader();
    if (header === null) {
      assert(this.positionNow === null, "the WAL header became invalid under a running capture");
      return [];
    }
    const start = this.startFor(header);
    const captured = this.scan(header, start);
    if (captured.length > 0) this.restartAllowed = false;
    return captured;
  }

  /** Reads the page image stored in the frame at `offset`. */
  readPage(offset: number, pageSize: number, into: Buffer = Buffer.allocUnsafe(pageSize)): Buffer {
    assert(this.fd !== null, "readPage before the WAL was opened");
    const got = fs.readSync(this.fd, into, 0, pageSize, offset + WAL_FRAME_HEADER_BYTES);
    assert(got === pageSize, `short WAL page read at ${offset}: ${got} bytes`);
    return into;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private openIfPresent(): boolean {
    if (this.fd !== null) return true;
    try {
      this.fd = fs.openSync(this.walPath, "r");
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
  }

  private readHeader(): WalHeader | null {
    const buf = Buffer.alloc(WAL_HEADER_BYTES);
    const got = fs.readSync(this.fd!, buf, 0, WAL_HEADER_BYTES, 0);
    return got === WAL_HEADER_BYTES ? parseWalHeader(buf) : null;
  }

  /** The scan start for this header; a new generation must follow our own full checkpoint. */
  private startFor(header: WalHeader): CapturePosition {
    const current = this.positionNow;
    if (current === null || !sameGeneration(current.header, header)) {
      if (current !== null) this.checkRestart(current.header, header);
      return { header, nextFrame: 1, checksum1: header.checksum1, checksum2: header.checksum2 };
    }
    return current;
  }

  private checkRestart(before: WalHeader, after: WalHeader): void {
    // A restart we did not allow means someone checkpointed frames we may not have captured
    // (spec/sqlite-wal.md P3): the log would silently miss commits, so stop here.
    assert(this.restartAllowed, "SQLite restarted the WAL without our full checkpoint");
    assert(after.salt1 === ((before.salt1 + 1) >>> 0)
      && after.checkpointSequence === ((before.checkpointSequence + 1) >>> 0),
      "WAL restart does not continue the previous generation");
    assert(after.pageSize === before.pageSize, "WAL page size changed");
  }

  private scan(header: WalHeader, start: CapturePosition): CapturedTransaction[] {
    const captured: CapturedTransaction[] = [];
    const frameBytes = header.pageSize + WAL_FRAME_HEADER_BYTES;
    let pending = new Map<number, number>();
    let chain = { index: start.nextFrame, c1: start.checksum1, c2: start.checksum2 };
    let batch = SCAN_FRAMES_FIRST;
    for (;;) {
      const buf = Buffer.alloc(batch * frameBytes); // own buffer: 4-byte aligned for checksums
      const base = frameOffset(chain.index, header.pageSize);
      const got = fs.readSync(this.fd!, buf, 0, buf.length, base);
      const frames = Math.floor(got / frameBytes);
      let i = 0;
      for (; i < frames; i++) {
        const frame = buf.subarray(i * frameBytes, (i + 1) * frameBytes);
        const checked = checkFrame(frame, header, chain.c1, chain.c2);
        if (checked === null) break;
        pending.set(checked.frame.pgno, base + i * frameBytes);
        chain = { index: chain.index + 1, c1: checked.checksum1, c2: checked.checksum2 };
        if (checked.frame.commitSizePages !== 0) {
          captured.push(toTransaction(header, pending, checked.frame.commitSizePages, chain));
          this.positionNow = { header, nextFrame: chain.index, checksum1: chain.c1,
            checksum2: chain.c2 };
          pending = new Map();
        }
      }
      if (i < frames || frames < batch) break;
      batch = Math.min(batch * 4, SCAN_FRAMES_MAX);
    }
    if (this.positionNow === null) this.positionNow = start;
    return captured;
  }
}

function toTransaction(header: WalHeader, pages: Map<number, number>, dbSizePages: number,
  chain: { index: number; c1: number; c2: number }): CapturedTransaction {
  // Pages above the new size were spilled earlier in the transaction and then truncated away.
  const frames = [...pages.entries()]
    .filter(([pgno]) => pgno <= dbSizePages)
    .sort((a, b) => a[0] - b[0]);
  return {
    pageSize: header.pageSize, dbSizePages, frames,
    wal: { salt1: header.salt1, salt2: header.salt2, commitFrame: chain.index - 1,
      checksum1: chain.c1, checksum2: chain.c2 },
  };
}

function sameGeneration(a: WalHeader, b: WalHeader): boolean {
  return a.salt1 === b.salt1 && a.salt2 === b.salt2
    && a.checkpointSequence === b.checkpointSequence;
}

/** A position that resumes right after a logged commit, if the WAL still holds that commit. */
export function positionAfter(header: WalHeader, wal: WalPosition): CapturePosition | null {
  if (wal.commitFrame === 0 || header.salt1 !== wal.salt1 || header.salt2 !== wal.salt2) return null;
  return { header, nextFrame: wal.commitFrame + 1, checksum1: wal.checksum1,
    checksum2: wal.checksum2 };
}

/**
 * Encodes one captured transaction as log records, one chunk at a time (FIRST ... LAST), so a
 * transaction of any size never sits in memory whole. The WAL position goes on the LAST chunk.
 */
export function* transactionRecords(capture: WalCapture, transaction: CapturedTransaction,
  epoch: number, firstLsn: number, commitTimeMs: number): Generator<{ lsn: number; record: Buffer }> {
  const perChunk = Math.max(1, Math.floor(CHUNK_BODY_BYTES_MAX / (4 + transaction.pageSize)));
  const chunks = Math.max(1, Math.ceil(transaction.frames.length / perChunk));
  for (let c = 0; c < chunks; c++) {
    const frames = transaction.frames.slice(c * perChunk, (c + 1) * perChunk);
    const pages: PageImage[] = frames.map(([pgno, offset]) => ({
      pgno, data: capture.readPage(offset, transaction.pageSize),
    }));
    const last = c === chunks - 1;
    const lsn = firstLsn + c;
    const record = encodeRecord({
      flags: (c === 0 ? RecordFlags.FIRST : 0) | (last ? RecordFlags.LAST : 0),
      epoch, pageSize: transaction.pageSize, lsn, prevLsn: lsn - 1,
      dbSizePages: transaction.dbSizePages, pages, wal: last ? transaction.wal : NO_WAL_POSITION,
      commitTimeMs,
    });
    yield { lsn, record };
  }
}
