// One database: its files, its writer thread, its log, its write lock, checkpoints and holds.
// Our log is the truth: SQLite's WAL is a staging buffer that is never checkpointed past a record
// that is not durable, and nothing is acknowledged before its record is durable.
import Database from "better-sqlite3";
import * as fs from "node:fs";
import { readLog } from "../log/runtime/log_reader.js";
import { LogWriter } from "../log/runtime/log_writer.js";
import {
  RecordFlags, decodeHeader, encodeRecord, NO_WAL_POSITION, type PageImage,
} from "../log/record.js";
import { assert } from "../util/assert.js";
import { readControl, writeControl, type ControlState, type RecoveryModel } from "./control_file.js";
import { HoldSet, type HoldName } from "./holds.js";
import type { ReaderPool } from "./reader_pool.js";
import {
  databasePaths, recoverLogEnd, redoAndSeal, salvageWal, type DatabasePaths,
} from "./recovery.js";
import { Session, type SessionOptions } from "./session.js";
import { Snapshot } from "./snapshot.js";
import { WorkerChannel } from "./worker_channel.js";
import { WriteLock } from "./write_lock.js";
import type { RecordMessage, WriterInit, WriterReply, WriterRequest } from "./writer_protocol.js";

export interface DatabaseOptions {
  readonly segmentBytes: number;
  /** Checkpoint once this many log bytes were written since the last one. */
  readonly checkpointEveryBytes: number;
  /** Writer page cache, in pages (0: SQLite's default of 16 MB). Small values force spills. */
  readonly cacheSizePages: number;
  readonly safeIntegers: boolean;
  /** Durability test mode: fsynced offsets and checkpoint images are recorded for power cuts. */
  readonly durabilityTestMode: boolean;
  readonly onFatal: (error: Error) => void;
}

/** What the instance shares with every database. */
export interface EngineServices {
  readonly readers: ReaderPool;
  nextJob(): number;
  interrupt(job: number): void;
}

export interface CheckpointResult {
  readonly full: boolean;
  readonly checkpointLsn: number;
  readonly skipped: boolean;
}

export class MirrorliteDatabase {
  readonly writeLock = new WriteLock();
  readonly holds = new HoldSet();
  private control: ControlState;
  private bytesSinceCheckpoint = 0;
  private checkpointPauses = 0;
  private checkpointRunning: Promise<CheckpointResult> | null = null;
  private dbSizePagesNow: number;
  private closed = false;
  private readonly writer: WorkerChannel<WriterRequest, WriterReply>;

  private constructor(readonly name: string, readonly paths: DatabasePaths, readonly log: LogWriter,
    readonly dbFd: number, control: ControlState, private readonly services: EngineServices,
    private readonly options: DatabaseOptions) {
    this.control = control;
    this.dbSizePagesNow = Math.ceil(fs.fstatSync(dbFd).size / control.pageSize);
    const durableShared = new SharedArrayBuffer(8);
    const durableView = new BigInt64Array(durableShared);
    Atomics.store(durableView, 0, BigInt(log.durableLsn));
    log.onDurable((lsn) => {
      Atomics.store(durableView, 0, BigInt(lsn));
      Atomics.notify(durableView, 0);
    });
    const init: WriterInit = {
      dbPath: paths.dbPath, walPath: paths.walPath, dbFd, epoch: control.epoch,
      nextLsn: log.lastLsn + 1, cacheSizePages: options.cacheSizePages,
      safeIntegers: options.safeIntegers, durableLsnShared: durableShared,
    };
    this.writer = new WorkerChannel<WriterRequest, WriterReply>(
      new URL("./writer_worker.js", import.meta.url), init,
      (message) => this.onWriterMessage(message),
      (error) => { if (!this.closed) options.onFatal(error); });
    this.holds.set("CHECKPOINT", control.checkpointLsn + 1);
    if (control.recoveryModel !== "SIMPLE") this.holds.set("LOG_BACKUP", 1);
  }

  /** Creates a new database directory whose log starts with a base image of the empty file. */
  static async create(name: string, dir: string, recoveryModel: RecoveryModel,
    segmentBytes: number, pageSize = 4096): Promise<void> {
    const paths = databasePaths(dir);
    fs.mkdirSync(paths.logDir, { recursive: true });
    const setup = new Database(paths.dbPath);
    setup.pragma(`page_size = ${pageSize}`);
    setup.pragma("journal_mode = WAL"); // writes page 1 with the WAL flags, directly to the file
    setup.close();
    const image = fs.readFileSync(paths.dbPath);
    assert(image.length % pageSize === 0 && image.length > 0, `new database ${name} has ${image.length} bytes`);
    const pages: PageImage[] = [];
    for (let pgno = 1; pgno * pageSize <= image.length; pgno++) {
      pages.push({ pgno, data: image.subarray((pgno - 1) * pageSize, pgno * pageSize) });
    }
    const record = encodeRecord({
      flags: RecordFlags.FIRST | RecordFlags.LAST | RecordFlags.BASE_IMAGE, epoch: 1, pageSize,
      lsn: 1, prevLsn: 0, dbSizePages: pages.length, pages, wal: NO_WAL_POSITION,
    });
    const segment = await LogWriter.createFirstSegment(paths.logDir, segmentBytes);
    const log = new LogWriter(paths.logDir, [segment], 0, { segmentBytes,
      onFatal: (error) => { throw error; } });
    log.append(record, 1);
    await log.close();
    writeControl(dir, { format: 1, epoch: 1, checkpointLsn: 1, recoveryModel, pageSize });
  }

  /** Runs startup recovery with SQLite closed, then starts the writer. */
  static async open(name: string, dir: string, services: EngineServices,
    options: DatabaseOptions): Promise<MirrorliteDatabase> {
    const paths = databasePaths(dir);
    let control = readControl(dir);
    const scan = recoverLogEnd(paths, control);
    const log = new LogWriter(paths.logDir, scan.segments, scan.lastLsn, {
      segmentBytes: options.segmentBytes, onFatal: options.onFatal,
      ...(options.durabilityTestMode ? { durableMarkerPath: `${dir}/durable-marker` } : {}),
    });
    // The long-lived descriptor: opened before SQLite and closed after it, never in between,
    // because closing any descriptor of the file drops SQLite's POSIX locks (sqlite-wal.md P5).
    const dbFd = fs.openSync(paths.dbPath, "r+");
    await salvageWal(paths, scan, log, control.epoch);
    control = redoAndSeal(paths, dbFd, log, control);
    if (options.durabilityTestMode) saveCheckpointImage(dbFd, `${dir}/checkpoint-image`);
    return new MirrorliteDatabase(name, paths, log, dbFd, control, services, options);
  }

  get recoveryModel(): RecoveryModel { return this.control.recoveryModel; }
  get checkpointLsn(): number { return this.control.checkpointLsn; }
  get epoch(): number { return this.control.epoch; }
  get pageSize(): number { return this.control.pageSize; }
  /** Database size in pages as of the last logged transaction. */
  get dbSizePages(): number { return this.dbSizePagesNow; }

  /** sys.databases.log_reuse_wait_desc: what keeps the oldest log segment from being reused. */
  get logReuseWaitDesc(): HoldName | "NOTHING" {
    const oldest = this.log.segmentList()[0];
    if (oldest === undefined || this.log.segmentList().length < 2 || oldest.lastLsn === null) {
      return "NOTHING";
    }
    return this.holds.blocking(oldest.lastLsn) ?? "NOTHING";
  }

  session(options: Partial<SessionOptions> = {}): Session {
    this.throwIfClosed();
    return new Session(this, this.writer, this.services, { lockTimeoutMs: -1, ...options });
  }

  setRecoveryModel(model: RecoveryModel): void {
    this.control = { ...this.control, recoveryModel: model };
    writeControl(this.paths.dir, this.control);
    if (model === "SIMPLE") this.holds.delete("LOG_BACKUP");
    else if (!this.holds.has("LOG_BACKUP")) this.holds.set("LOG_BACKUP", this.log.lastLsn + 1);
    this.truncateLog();
  }

  /** A log backup covered everything before `lsn`: under FULL, the log may be reused up to it. */
  logBackedUpTo(lsn: number): void {
    if (this.holds.has("LOG_BACKUP")) this.holds.set("LOG_BACKUP", lsn);
    this.truncateLog();
  }

  /**
   * Checkpoint: under the write lock, once every captured record is durable, copy the WAL into
   * the database file. Only a checkpoint that backfilled everything moves the checkpoint LSN.
   */
  checkpoint(): Promise<CheckpointResult> {
    this.throwIfClosed();
    this.checkpointRunning ??= this.runCheckpoint().finally(() => { this.checkpointRunning = null; });
    return this.checkpointRunning;
  }

  /** A consistent image of every page at one LSN, streamed (see snapshot.ts). */
  async snapshot(): Promise<Snapshot> {
    const owner = {};
    await this.writeLock.acquire(owner, -1);
    let lsn: number;
    try {
      lsn = this.log.lastLsn;
      this.checkpointPauses++;
    } finally {
      this.writeLock.release(owner);
    }
    await this.checkpointRunning?.catch(() => undefined);
    await this.log.waitDurable(lsn);
    return Snapshot.open(this.log.segmentList(), this.control.checkpointLsn, lsn, this.dbSizePagesNow,
      this.control.pageSize, this.dbFd, () => { this.checkpointPauses--; });
  }

  /** Records of lsn fromLsn..toLsn (default: the durable end), for backups and shipping. */
  readLog(fromLsn: number, toLsn = this.log.durableLsn) {
    return readLog(this.log.segmentList(), fromLsn, toLsn);
  }

  /** Clean close: every record durable, a final checkpoint, then SQLite and the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.checkpointRunning?.catch(() => undefined);
    const owner = {};
    await this.writeLock.acquire(owner, -1);
    await this.log.waitDurable(this.log.lastLsn);
    await this.services.readers.forget(this.paths.dbPath);
    // A final checkpoint so the file alone is current; if it cannot backfill everything the
    // WAL and our log still hold the rest, and the next start redoes it.
    if (this.checkpointPauses === 0) await this.checkpointLocked();
    this.closed = true;
    await this.writer.request((id) => ({ type: "close", id }));
    await this.writer.terminate();
    await this.log.close();
    fs.closeSync(this.dbFd);
  }

  /** Called by sessions after their commit's reply: schedules a checkpoint when due. */
  noteCommit(): void {
    if (this.bytesSinceCheckpoint >= this.options.checkpointEveryBytes && this.checkpointPauses === 0
      && this.checkpointRunning === null && !this.closed) {
      this.checkpoint().catch((error: Error) => this.options.onFatal(error));
    }
  }

  private onWriterMessage(message: unknown): boolean {
    const record = message as RecordMessage;
    if (record.type !== "record") return false;
    const bytes = Buffer.from(record.record.buffer, record.record.byteOffset, record.record.byteLength);
    const header = decodeHeader(bytes);
    assert(typeof header !== "string", `writer sent a bad record: ${String(header)}`);
    if ((header.flags & RecordFlags.LAST) !== 0) this.dbSizePagesNow = header.dbSizePages;
    this.bytesSinceCheckpoint += bytes.length;
    this.log.append(bytes, record.lsn);
    return true;
  }

  /**
   * Diagnostics and tests: under the write lock, a full checkpoint, then the database file's own
   * bytes (read through the long-lived descriptor) with the LSN they hold. Whole file in memory.
   */
  async readCheckpointedFile(): Promise<{ lsn: number; image: Buffer } | null> {
    return this.withWriteLock(async () => {
      const result = await this.checkpointLocked();
      if (!result.full) return null;
      const image = Buffer.alloc(fs.fstatSync(this.dbFd).size);
      fs.readSync(this.dbFd, image, 0, image.length, 0);
      return { lsn: result.checkpointLsn, image };
    });
  }

  private async withWriteLock<T>(body: () => Promise<T>): Promise<T> {
    const owner = {};
    await this.writeLock.acquire(owner, -1);
    try {
      return await body();
    } finally {
      this.writeLock.release(owner);
    }
  }

  private runCheckpoint(): Promise<CheckpointResult> {
    return this.withWriteLock(() => this.checkpointLocked());
  }

  private async checkpointLocked(): Promise<CheckpointResult> {
    if (this.checkpointPauses > 0 || this.closed) {
      return { full: false, checkpointLsn: this.control.checkpointLsn, skipped: true };
    }
    await this.log.waitDurable(this.log.lastLsn);
    const reply = await this.writer.request((id) => ({ type: "checkpoint", id }));
    if (!reply.ok) throw new Error(`checkpoint failed: ${reply.message}`);
    const full = (reply.rows![0]![0] as { full: boolean }).full;
    if (full) this.sealCheckpoint(reply.commitLsn);
    return { full, checkpointLsn: this.control.checkpointLsn, skipped: false };
  }

  private sealCheckpoint(lsn: number): void {
    assert(lsn <= this.log.durableLsn, `checkpoint at ${lsn} past the durable lsn ${this.log.durableLsn}`);
    if (this.options.durabilityTestMode) saveCheckpointImage(this.dbFd, `${this.paths.dir}/checkpoint-image`);
    this.control = { ...this.control, checkpointLsn: lsn };
    writeControl(this.paths.dir, this.control);
    this.bytesSinceCheckpoint = 0;
    this.holds.set("CHECKPOINT", lsn + 1);
    this.truncateLog();
  }

  private truncateLog(): void {
    this.log.truncateBefore(this.holds.lowest());
  }

  private throwIfClosed(): void {
    if (this.closed) throw new Error(`database ${this.name} is closed`);
  }
}

/** Durability test mode: the file as of this checkpoint, for power-cut simulations. */
function saveCheckpointImage(dbFd: number, target: string): void {
  const size = fs.fstatSync(dbFd).size;
  const image = Buffer.alloc(size);
  fs.readSync(dbFd, image, 0, size, 0);
  fs.writeFileSync(`${target}.tmp`, image);
  fs.renameSync(`${target}.tmp`, target);
}
