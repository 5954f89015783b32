// The log writer: appends records in LSN order to preallocated segments and makes them
// durable with group commit. Writes go out as records arrive; one fdatasync runs at a time and
// the next starts as soon as the previous returns, covering everything written by then. No
// timers: under load each fsync acknowledges a whole group of commits, idle it costs nothing.
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { assert } from "../../util/assert.js";
import { stampDurableLsn } from "../record.js";
import { SEGMENT_HEADER_BYTES, encodeSegmentHeader, segmentFileName } from "../segment.js";

const writev = promisify(fs.writev);
const fdatasync = promisify(fs.fdatasync);
const ZERO_CHUNK_BYTES = 1 << 20;

export interface LogSegment {
  readonly segmentNo: number;
  readonly path: string;
  readonly segmentBytes: number;
  firstLsn: number | null;
  lastLsn: number | null;
  endOffset: number;
}

interface OpenSegment extends LogSegment {
  fd: number;
}

export interface LogWriterOptions {
  readonly segmentBytes: number;
  /** Durability test mode: after each fsync, "<segmentNo> <offset> <lsn>" is written here. */
  readonly durableMarkerPath?: string;
  /** Called once if the log cannot be written: nothing more may be acknowledged. */
  readonly onFatal: (error: Error) => void;
}

interface Pending { readonly record: Buffer; readonly lsn: number }
interface Waiter { readonly lsn: number; readonly resolve: () => void }

export class LogWriter {
  private readonly segments: OpenSegment[];
  private queue: Pending[] = [];
  private writing = false;
  private pumpQueued = false;
  private syncing = false;
  private readonly dirty = new Set<OpenSegment>();
  private spare: Promise<OpenSegment> | null = null;
  private waiters: Waiter[] = [];
  private readonly listeners = new Set<(durableLsn: number) => void>();
  private readonly markerFd: number | null;
  private writtenPosition: { segmentNo: number; offset: number };
  private failure: Error | null = null;
  private lastLsnNow: number;
  private writtenLsnNow: number;
  private durableLsnNow: number;

  constructor(private readonly dir: string, segments: readonly LogSegment[], lastLsn: number,
    private readonly options: LogWriterOptions) {
    this.segments = segments.map((segment) => ({ ...segment, fd: fs.openSync(segment.path, "r+") }));
    this.lastLsnNow = this.writtenLsnNow = this.durableLsnNow = lastLsn;
    const current = this.segments[this.segments.length - 1];
    this.writtenPosition = { segmentNo: current?.segmentNo ?? 0, offset: current?.endOffset ?? 0 };
    this.markerFd = options.durableMarkerPath === undefined ? null
      : fs.openSync(options.durableMarkerPath, "w");
    this.writeMarker();
  }

  /** Creates the first segment of a new, empty log directory. */
  static async createFirstSegment(dir: string, segmentBytes: number): Promise<LogSegment> {
    const fd = await createSegmentFile(dir, 1, segmentBytes);
    fs.closeSync(fd);
    return { segmentNo: 1, path: path.join(dir, segmentFileName(1)), segmentBytes,
      firstLsn: null, lastLsn: null, endOffset: SEGMENT_HEADER_BYTES };
  }

  get lastLsn(): number { return this.lastLsnNow; }
  get durableLsn(): number { return this.durableLsnNow; }
  get firstLsn(): number | null {
    return this.segments.find((segment) => segment.firstLsn !== null)?.firstLsn ?? null;
  }

  /** The segments as they stand; readers bound themselves to the durable LSN. */
  segmentList(): readonly LogSegment[] {
    return this.segments;
  }

  /** Queues a record; the record buffer is owned by the writer from here on. */
  append(record: Buffer, lsn: number): void {
    this.throwIfFailed();
    assert(lsn === this.lastLsnNow + 1, `append of lsn ${lsn} after ${this.lastLsnNow}`);
    this.lastLsnNow = lsn;
    this.queue.push({ record, lsn });
    // Records appended in the same turn (a LOG message on the mirror, a burst of commits) go
    // out in one write and one fsync, instead of the first alone and the rest after it.
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      void this.pump();
    });
  }

  /** Resolves once every record up to `lsn` is durable (rejects if the log failed). */
  waitDurable(lsn: number): Promise<void> {
    this.throwIfFailed();
    assert(lsn <= this.lastLsnNow, `wait for lsn ${lsn} beyond the log end ${this.lastLsnNow}`);
    if (lsn <= this.durableLsnNow) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ lsn, resolve }));
  }

  /** Subscribes to durable-LSN advances; returns the unsubscribe function. */
  onDurable(listener: (durableLsn: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Deletes whole segments whose records all precede `lsn`; the current segment stays. */
  truncateBefore(lsn: number): number {
    let removed = 0;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      if (oldest.lastLsn !== null && oldest.lastLsn >= lsn) break;
      if (oldest.lastLsn !== null && oldest.lastLsn > this.durableLsnNow) break;
      fs.closeSync(oldest.fd);
      fs.unlinkSync(oldest.path);
      this.segments.shift();
      removed++;
    }
    if (removed > 0) fsyncDirectory(this.dir);
    return removed;
  }

  /** Waits for everything appended to be durable, then closes the files. */
  async close(): Promise<void> {
    if (this.failure === null && this.lastLsnNow > 0) await this.waitDurable(this.lastLsnNow);
    const spare = await this.spare?.catch(() => null);
    if (spare) fs.closeSync(spare.fd);
    for (const segment of this.segments) fs.closeSync(segment.fd);
    if (this.markerFd !== null) fs.closeSync(this.markerFd);
  }

  private async pump(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0 && this.failure === null) await this.writeBatch();
    } catch (error) {
      this.fail(error as Error);
    } finally {
      this.writing = false;
    }
  }

  private async writeBatch(): Promise<void> {
    let segment = this.segments[this.segments.length - 1]!;
    const first = this.queue[0]!;
    if (segment.endOffset + first.record.length > segment.segmentBytes) segment = await this.rotate();
    const batch: Pending[] = [];
    let bytes = 0;
    for (const pending of this.queue) {
      if (segment.endOffset + bytes + pending.record.length > segment.segmentBytes) break;
      batch.push(pending);
      bytes += pending.record.length;
    }
    assert(batch.length > 0, "a record larger than a segment");
    this.queue = this.queue.slice(batch.length);
    for (const pending of batch) stampDurableLsn(pending.record, pending.lsn, this.durableLsnNow);
    // A synchronous write into the page cache costs microseconds; a thread-pool hop per batch
    // cost more than the write itself. Only the fdatasync goes to the thread pool.
    const written = fs.writevSync(segment.fd, batch.map((p) => p.record), segment.endOffset);
    assert(written === bytes, `short log write: ${written} of ${bytes} bytes`);
    segment.firstLsn ??= batch[0]!.lsn;
    segment.lastLsn = batch[batch.length - 1]!.lsn;
    segment.endOffset += bytes;
    this.writtenLsnNow = segment.lastLsn;
    this.writtenPosition = { segmentNo: segment.segmentNo, offset: segment.endOffset };
    this.dirty.add(segment);
    void this.sync();
  }

  private async rotate(): Promise<OpenSegment> {
    const current = this.segments[this.segments.length - 1]!;
    const next = await (this.spare ?? this.prepareSegment(current.segmentNo + 1));
    this.spare = null;
    this.segments.push(next);
    // Prepare the one after while this one fills, so rollover never waits on preallocation.
    this.spare = this.prepareSegment(next.segmentNo + 1);
    this.spare.catch((error: Error) => this.fail(error));
    return next;
  }

  private async prepareSegment(segmentNo: number): Promise<OpenSegment> {
    const segmentBytes = this.options.segmentBytes;
    const fd = await createSegmentFile(this.dir, segmentNo, segmentBytes, { chunkSynced: true });
    return { segmentNo, path: path.join(this.dir, segmentFileName(segmentNo)), segmentBytes,
      firstLsn: null, lastLsn: null, endOffset: SEGMENT_HEADER_BYTES, fd };
  }

  private async sync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      while (this.writtenLsnNow > this.durableLsnNow && this.failure === null) {
        const target = this.writtenLsnNow;
        const position = this.writtenPosition;
        const segments = [...this.dirty];
        this.dirty.clear();
        await Promise.all(segments.map((segment) => fdatasync(segment.fd)));
        this.advanceDurable(target, position);
      }
    } catch (error) {
      this.fail(error as Error);
    } finally {
      this.syncing = false;
    }
  }

  private advanceDurable(lsn: number, position: { segmentNo: number; offset: number }): void {
    assert(lsn > this.durableLsnNow, `durable lsn going back from ${this.durableLsnNow} to ${lsn}`);
    this.durableLsnNow = lsn;
    this.writeMarker(position);
    const ready = this.waiters.filter((waiter) => waiter.lsn <= lsn);
    if (ready.length > 0) this.waiters = this.waiters.filter((waiter) => waiter.lsn > lsn);
    for (const waiter of ready) waiter.resolve();
    for (const listener of this.listeners) listener(lsn);
  }

  private writeMarker(position = this.writtenPosition): void {
    if (this.markerFd === null) return;
    const line = `${position.segmentNo} ${position.offset} ${this.durableLsnNow}`.padEnd(63) + "\n";
    fs.writeSync(this.markerFd, line, 0);
  }

  private fail(error: Error): void {
    if (this.failure !== null) return;
    this.failure = error;
    this.options.onFatal(error);
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}

/**
 * Creates a zero-filled segment file durably (temp name, fsync, rename, fsync directory).
 * `chunkSynced`: each 1 MiB of zeros is flushed before the next is written. The spare segment
 * is prepared while commits run, and one fsync of the whole file put tens of MiB on the device
 * ahead of every commit's fdatasync: commits stalled for half a second at each rollover (on
 * the principal, and on a mirror sharing its disk). Flushed a chunk at a time, a commit waits
 * behind one chunk at most.
 */
async function createSegmentFile(dir: string, segmentNo: number, segmentBytes: number,
  { chunkSynced = false } = {}): Promise<number> {
  const finalPath = path.join(dir, segmentFileName(segmentNo));
  const tempPath = `${finalPath}.tmp`;
  const fd = fs.openSync(tempPath, "w+");
  const header = encodeSegmentHeader({ segmentNo, segmentBytes });
  const zeros = Buffer.alloc(ZERO_CHUNK_BYTES);
  await writev(fd, [header], 0);
  for (let at = SEGMENT_HEADER_BYTES; at < segmentBytes; at += ZERO_CHUNK_BYTES) {
    await writev(fd, [zeros.subarray(0, Math.min(ZERO_CHUNK_BYTES, segmentBytes - at))], at);
    if (chunkSynced) await fdatasync(fd);
  }
  await promisify(fs.fsync)(fd);
  fs.renameSync(tempPath, finalPath);
  fsyncDirectory(dir);
  return fd;
}

export function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
