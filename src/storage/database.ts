// One database: its files, its writer thread, its log, its write lock, checkpoints and holds.
// Our log is the truth: SQLite's WAL is a staging buffer that is never checkpointed past a record
// that is not durable, and nothing is acknowledged before its record is durable.
import Database from "better-sqlite3";
import * as fs from "node:fs";
import { forEachRecordSync, readLog, readLogRaw } from "../log/runtime/log_reader.js";
import { LogWriter } from "../log/runtime/log_writer.js";
import {
  RecordFlags, decodeHeader, encodeRecord, NO_WAL_POSITION, type PageImage,
} from "../log/record.js";
import { randomUUID } from "node:crypto";
import { RECORD_HEADER_BYTES } from "../log/record.js";
import { assert } from "../util/assert.js";
import { ChangedPageMap, recordPageNumbers } from "./changed_pages.js";
import {
  readControl, writeControl, type ControlState, type DifferentialBase, type RecoveryModel,
} from "./control_file.js";
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
  /** Pages changed after the differential base (null: no base). */
  private changedPages: ChangedPageMap | null;
  private commitGate: ((lsn: number) => Promise<void> | null) | null = null;
  /** Told of every record as the writer hands it to the log (the mirroring send queue). */
  private readonly recordListeners = new Set<(lsn: number, bytes: Buffer) => void>();
  /** Pages changed after the snapshot of a full backup that is still running. */
  private pendingChangedPages: ChangedPageMap | null = null;

  private constructor(readonly name: string, readonly paths: DatabasePaths, readonly log: LogWriter,
    readonly dbFd: number, control: ControlState, private readonly services: EngineServices,
    private readonly options: DatabaseOptions, changedPages: ChangedPageMap | null) {
    this.control = control;
    this.changedPages = changedPages;
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
    this.setLogBackupHold();
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
      commitTimeMs: Date.now(),
    });
    const segment = await LogWriter.createFirstSegment(paths.logDir, segmentBytes);
    const log = new LogWriter(paths.logDir, [segment], 0, { segmentBytes,
      onFatal: (error) => { throw error; } });
    log.append(record, 1);
    await log.close();
    writeControl(dir, { format: 1, epoch: 1, checkpointLsn: 1, recoveryModel, pageSize,
      familyGuid: randomUUID(), forks: [{ guid: randomUUID(), epoch: 1, firstLsn: 1 }],
      state: "ONLINE", logChainLsn: null, differentialBase: null });
  }

  /** Runs startup recovery with SQLite closed, then starts the writer. */
  static async open(name: string, dir: string, services: EngineServices,
    options: DatabaseOptions): Promise<MirrorliteDatabase> {
    const paths = databasePaths(dir);
    let control = withIdentity(readControl(dir));
    assert(control.state !== "RESTORING", `database ${name} is restoring and cannot be opened`);
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
    const changed = loadChangedPages(dir, control, log);
    if (changed === null && control.differentialBase) control = { ...control, differentialBase: null };
    return new MirrorliteDatabase(name, paths, log, dbFd, control, services, options, changed);
  }

  get recoveryModel(): RecoveryModel { return this.control.recoveryModel; }
  get checkpointLsn(): number { return this.control.checkpointLsn; }
  get epoch(): number { return this.control.epoch; }
  get pageSize(): number { return this.control.pageSize; }
  /** The control state (recovery forks, family GUID, log chain, differential base). */
  get controlState(): ControlState { return this.control; }
  get logChainLsn(): number | null { return this.control.logChainLsn ?? null; }
  get differentialBase(): DifferentialBase | null { return this.control.differentialBase ?? null; }
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

  /**
   * SIMPLE breaks the log backup chain; FULL keeps no log for backups until a full or
   * differential backup starts a chain (SQL Server's pseudo-SIMPLE mode).
   */
  setRecoveryModel(model: RecoveryModel): void {
    const logChainLsn = model === "SIMPLE" ? null : this.control.logChainLsn ?? null;
    this.updateControl({ recoveryModel: model, logChainLsn });
    this.setLogBackupHold();
    this.truncateLog();
  }

  /**
   * A log backup covered everything before `lsn`: the chain continues there and, under FULL,
   * the log may be reused up to it. A full or differential backup starts the chain the same way.
   */
  logBackedUpTo(lsn: number): void {
    if (this.control.recoveryModel === "SIMPLE") return;
    const begun = (this.control.logChainLsn ?? null) === null ? lsn : this.control.logChainBegunLsn ?? null;
    this.updateControl({ logChainLsn: lsn, logChainBegunLsn: begun });
    this.setLogBackupHold();
    this.truncateLog();
  }

  /** Replaces fields of the control file atomically. */
  updateControl(patch: Partial<ControlState>): void {
    this.control = { ...this.control, ...patch };
    writeControl(this.paths.dir, this.control);
  }

  private setLogBackupHold(): void {
    const chain = this.control.logChainLsn ?? null;
    if (this.control.recoveryModel === "SIMPLE" || chain === null) this.holds.delete("LOG_BACKUP");
    else this.holds.set("LOG_BACKUP", chain);
  }

  /** Pages changed after the differential base, up to the current end of the log. */
  changedPagesSinceBase(): ChangedPageMap | null {
    return this.changedPages;
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

  /**
   * A consistent image of every page at one LSN, streamed (see snapshot.ts). With
   * `trackChanges` (a full backup) a new changed-page map starts at exactly that LSN; it becomes
   * the differential base only when the backup calls `completeFullBackup`.
   */
  async snapshot(trackChanges = false): Promise<Snapshot> {
    const owner = {};
    await this.writeLock.acquire(owner, -1);
    let lsn: number;
    try {
      lsn = this.log.lastLsn;
      this.checkpointPauses++;
      if (trackChanges) this.pendingChangedPages = new ChangedPageMap(lsn, lsn);
    } finally {
      this.writeLock.release(owner);
    }
    await this.checkpointRunning?.catch(() => undefined);
    await this.log.waitDurable(lsn);
    return Snapshot.open(this.log.segmentList(), this.control.checkpointLsn, lsn, this.dbSizePagesNow,
      this.control.pageSize, this.dbFd, () => { this.checkpointPauses--; });
  }

  /** A full backup at `lsn` finished: it is the differential base from now on. */
  completeFullBackup(base: DifferentialBase): void {
    const pending = this.pendingChangedPages;
    assert(pending !== null && pending.baseLsn === base.lsn, "no full backup at this lsn is running");
    this.pendingChangedPages = null;
    pending.persist(this.paths.dir);
    this.changedPages = pending;
    this.updateControl({ differentialBase: base });
  }

  /** A full backup failed: the differential base stays what it was. */
  abandonFullBackup(): void {
    this.pendingChangedPages = null;
  }

  /** The same records as exact bytes, read in large chunks (log backups, shipping). */
  readLogRaw(fromLsn: number, toLsn = this.log.durableLsn) {
    return readLogRaw(this.log.segmentList(), fromLsn, toLsn);
  }

  /**
   * The acknowledgement rule: a commit is reported to its client once its record is durable
   * and, when a gate is set (a mirroring principal), once the gate lets its LSN through.
   */
  async waitAcknowledgeable(lsn: number): Promise<void> {
    await this.log.waitDurable(lsn);
    const waiting = this.commitGate?.(lsn);
    if (waiting !== undefined && waiting !== null) await waiting;
  }

  /** Mirroring installs the SAFETY FULL wait here (null: local durability is enough). */
  setCommitGate(gate: ((lsn: number) => Promise<void> | null) | null): void {
    this.commitGate = gate;
  }

  /** Subscribes to records as they enter the log (not yet durable); returns the unsubscribe. */
  onRecord(listener: (lsn: number, bytes: Buffer) => void): () => void {
    this.recordListeners.add(listener);
    return () => this.recordListeners.delete(listener);
  }

  /** Records of lsn fromLsn..toLsn (default: the durable end), for backups and shipping. */
  readLog(fromLsn: number, toLsn = this.log.durableLsn) {
    return readLog(this.log.segmentList(), fromLsn, toLsn);
  }

  /** Clean close: every record durable, a final checkpoint, then SQLite and the files. `heldBy` holds the write lock already. */
  async close(heldBy?: object): Promise<void> {
    if (this.closed) return;
    // A caller that already holds the write lock (a mirroring role change) closes under it; a
    // checkpoint queued behind that lock finds the database closed and does nothing.
    if (heldBy === undefined) {
      await this.checkpointRunning?.catch(() => undefined);
      await this.writeLock.acquire({}, -1);
    }
    await this.log.waitDurable(this.log.lastLsn);
    await this.services.readers.forget(this.paths.dbPath);
    // A final checkpoint so the file alone is current; if it cannot backfill everything the
    // WAL and our log still hold the rest, and the next start redoes it.
    if (this.checkpointPauses === 0) await this.checkpointLocked();
    this.changedPages?.persist(this.paths.dir);
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
    if (this.changedPages !== null || this.pendingChangedPages !== null) {
      const pgnos = [...recordPageNumbers(bytes.subarray(RECORD_HEADER_BYTES), header.pageCount,
        header.pageSize)];
      this.changedPages?.notePages(header.lsn, pgnos);
      this.pendingChangedPages?.notePages(header.lsn, pgnos);
    }
    this.bytesSinceCheckpoint += bytes.length;
    this.log.append(bytes, record.lsn);
    for (const listener of this.recordListeners) listener(record.lsn, bytes);
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

  /** The changed-page map is persisted first: it must outlive the records it was built from. */
  private truncateLog(): void {
    const lowest = this.holds.lowest();
    const oldest = this.log.segmentList()[0];
    if (oldest?.lastLsn === null || oldest === undefined || oldest.lastLsn >= lowest) return;
    this.changedPages?.persist(this.paths.dir);
    this.log.truncateBefore(lowest);
  }

  private throwIfClosed(): void {
    if (this.closed) throw new Error(`database ${this.name} is closed`);
  }
}

/** Databases made before family GUIDs and forks were recorded get them now. */
function withIdentity(control: ControlState): ControlState {
  if (control.familyGuid !== undefined && control.forks !== undefined) return control;
  return { ...control, familyGuid: control.familyGuid ?? randomUUID(),
    forks: control.forks ?? [{ guid: randomUUID(), epoch: control.epoch, firstLsn: 1 }] };
}

/**
 * The persisted changed-page map brought up to the end of the log, or null when the
 * differential base is gone (no map, a map of another base, or log it needs was truncated).
 */
function loadChangedPages(dir: string, control: ControlState, log: LogWriter): ChangedPageMap | null {
  const base = control.differentialBase ?? null;
  if (base === null) return null;
  const map = ChangedPageMap.load(dir);
  if (map === null || map.baseLsn !== base.lsn) return null;
  if (map.coveredLsn < log.lastLsn) {
    const first = log.firstLsn;
    if (first === null || first > map.coveredLsn + 1) return null;
    forEachRecordSync(log.segmentList(), map.coveredLsn + 1, log.lastLsn,
      (record) => map.notePages(record.header.lsn, record.pages.map((page) => page.pgno)));
  }
  return map;
}

/** Durability test mode: the file as of this checkpoint, for power-cut simulations. */
function saveCheckpointImage(dbFd: number, target: string): void {
  const size = fs.fstatSync(dbFd).size;
  const image = Buffer.alloc(size);
  fs.readSync(dbFd, image, 0, size, 0);
  fs.writeFileSync(`${target}.tmp`, image);
  fs.renameSync(`${target}.tmp`, target);
}
