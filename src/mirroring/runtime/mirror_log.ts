// The mirror's side of log shipping for one RESTORING database: records from the principal are
// appended to the mirror's own log and made durable (hardened) by the same group-commit writer
// the principal uses, and redone into the closed database file on a separate path, so an
// acknowledgement never waits for redo. Whole page images make redo idempotent: after a crash
// the redo point in control.json may lag the file, and redoing again gives the same file.
import * as fs from "node:fs";
import { RecordFlags, RECORD_HEADER_BYTES, alignUp } from "../../log/record.js";
import type { DecodedRecord } from "../log_stream.js";
import { forEachRecordSync, type LogRecord } from "../../log/runtime/log_reader.js";
import { LogWriter } from "../../log/runtime/log_writer.js";
import { promisify } from "node:util";
import { readControl, writeControlAsync, type ControlState } from "../../storage/control_file.js";
import { databasePaths, recoverLogEnd, type DatabasePaths } from "../../storage/recovery.js";
import { redoRecord, type RedoFileSize } from "../../storage/redo.js";
import { assert } from "../../util/assert.js";

/** Records held in memory for redo; past this the redo path reads them back from the log. */
const REDO_QUEUE_MEMORY_BYTES_MAX = 64 * 1024 * 1024;
const fdatasync = promisify(fs.fdatasync);
/** How often the redo point is made durable (file fsync, then control.json). */
export const REDO_SEAL_INTERVAL_MS = 250;

export class MirrorLogError extends Error {
  override readonly name = "MirrorLogError";
  readonly hint = "The principal sent log that does not continue this mirror's log; the channel is reset and shipping restarts from the hardened LSN.";
}

export interface MirrorLogOptions {
  readonly segmentBytes: number;
  readonly onFatal: (error: Error) => void;
  /** Hardened LSN advanced (the records are fsynced in the mirror's log). */
  readonly onHardened: (lsn: number) => void;
  /** Redo applied every record up to lsn to the file (not yet fsynced). */
  readonly onRedone: (lsn: number) => void;
}

export class MirrorLog {
  private queue: LogRecord[] = [];
  private queueBytes = 0;
  private spilled = false;
  private recordBytesAverage = 4096;
  private redoneNow: number;
  /** The last redone LSN that ends a transaction: the only kind of LSN the redo point may be. */
  private boundaryLsn: number;
  private sealedLsn: number;
  private redoScheduled = false;
  private sealing: Promise<void> | null = null;
  private closing: Promise<ControlState> | null = null;
  private controlWrites: Promise<void> = Promise.resolve();
  private readonly sealTimer: NodeJS.Timeout;
  private closed = false;
  private readonly unsubscribe: () => void;
  /** The database file's size as redo left it (redo skips the ftruncate of a commit that keeps it). */
  private readonly fileSize: RedoFileSize;

  private constructor(readonly paths: DatabasePaths, private control: ControlState, readonly log: LogWriter,
    private readonly dbFd: number, private readonly options: MirrorLogOptions) {
    this.redoneNow = this.boundaryLsn = this.sealedLsn = control.checkpointLsn;
    this.fileSize = { bytes: fs.fstatSync(dbFd).size };
    this.unsubscribe = log.onDurable((lsn) => {
      options.onHardened(lsn);
      this.scheduleRedo();
    });
    this.sealTimer = setInterval(() => {
      this.seal().catch((error: Error) => options.onFatal(error));
    }, REDO_SEAL_INTERVAL_MS);
    this.sealTimer.unref();
    // Log hardened before a restart but not yet redone is redone now.
    if (log.durableLsn > this.redoneNow) {
      this.spilled = true;
      this.scheduleRedo();
    }
  }

  /** Opens a RESTORING database's log for hardening (its torn tail removed, as at any start). */
  static open(dir: string, options: MirrorLogOptions): MirrorLog {
    const paths = databasePaths(dir);
    const control = readControl(dir);
    assert(control.state === "RESTORING", `mirror database in ${dir} is not RESTORING`);
    // A database that was a principal until a moment ago may leave SQLite's files behind: the
    // log is the truth, and SQLite must find nothing to recover when it opens this file again.
    for (const file of [paths.walPath, paths.shmPath]) fs.rmSync(file, { force: true });
    const scan = recoverLogEnd(paths, control);
    const log = new LogWriter(paths.logDir, scan.segments, scan.lastLsn, { segmentBytes: options.segmentBytes,
      onFatal: options.onFatal });
    const dbFd = fs.openSync(paths.dbPath, "r+");
    return new MirrorLog(paths, control, log, dbFd, options);
  }

  get hardenedLsn(): number { return this.log.durableLsn; }
  get lastLsn(): number { return this.log.lastLsn; }
  get redoneLsn(): number { return this.redoneNow; }
  get firstLogLsn(): number | null { return this.log.firstLsn; }
  get controlState(): ControlState { return this.control; }

  /** Log hardened but not redone, in bytes (sys.database_mirroring.mirroring_redo_queue, counters). */
  get redoQueueBytes(): number {
    if (!this.spilled) return this.queueBytes;
    // Spilled records are not in memory: estimated from the average record size.
    return Math.round(Math.max(0, this.log.durableLsn - this.redoneNow) * this.recordBytesAverage);
  }

  /**
   * Appends one record exactly as the principal hardened it (the log-stream decoder checked
   * its header and body CRCs). It must be the next LSN; anything else (a gap, a replay) is
   * refused before it touches the log.
   */
  append(record: DecodedRecord): void {
    const { bytes, header, pages } = record;
    if (header.lsn !== this.log.lastLsn + 1) {
      throw new MirrorLogError(`record ${header.lsn} from the principal does not follow ${this.log.lastLsn}`);
    }
    // The log keeps each record padded to 8 bytes, as the principal's writer wrote it.
    const padded = alignUp(bytes.length) === bytes.length ? bytes : Buffer.alloc(alignUp(bytes.length));
    if (padded !== bytes) bytes.copy(padded);
    this.log.append(padded, header.lsn);
    this.recordBytesAverage += (bytes.length - this.recordBytesAverage) / 16;
    if (this.spilled) return;
    this.queue.push({ header, pages, segmentPath: "", offset: 0 });
    this.queueBytes += bytes.length;
    if (this.queueBytes > REDO_QUEUE_MEMORY_BYTES_MAX) {
      // Redo fell far behind: stop holding records in memory, read them back from the log.
      this.queue = [];
      this.queueBytes = 0;
      this.spilled = true;
    }
  }

  /** Resolves once redo has applied everything hardened up to `lsn` and the redo point is durable. */
  async drainRedo(lsn = this.log.durableLsn): Promise<void> {
    await this.log.waitDurable(Math.min(lsn, this.log.lastLsn));
    while (this.redoneNow < lsn && !this.closed) {
      this.redo();
      if (this.redoneNow < lsn) await new Promise((resolve) => setImmediate(resolve));
    }
    await this.sealing;
    await this.seal();
    await this.controlWrites;
  }

  private scheduleRedo(): void {
    if (this.redoScheduled || this.closed) return;
    this.redoScheduled = true;
    setImmediate(() => {
      this.redoScheduled = false;
      try {
        this.redo();
      } catch (error) {
        this.options.onFatal(error as Error);
      }
    });
  }

  /** Applies hardened records to the file: from memory, or from the log after a spill. */
  private redo(): void {
    if (this.closed) return;
    const hardened = this.log.durableLsn;
    if (this.redoneNow >= hardened) return;
    if (this.spilled) {
      forEachRecordSync(this.log.segmentList(), this.redoneNow + 1, hardened, (record) => this.apply(record));
      if (this.redoneNow === this.log.lastLsn) this.spilled = false;
    } else {
      let taken = 0;
      while (taken < this.queue.length && this.queue[taken]!.header.lsn <= hardened) {
        const record = this.queue[taken++]!;
        if (record.header.lsn > this.redoneNow) this.apply(record);
      }
      for (const record of this.queue.slice(0, taken)) this.queueBytes -= RECORD_HEADER_BYTES + record.header.bodyBytes;
      this.queue = this.queue.slice(taken);
    }
    this.options.onRedone(this.redoneNow);
  }

  private apply(record: LogRecord): void {
    assert(record.header.lsn === this.redoneNow + 1, `redo of ${record.header.lsn} after ${this.redoneNow}`);
    redoRecord(this.dbFd, record, this.fileSize);
    this.redoneNow = record.header.lsn;
    if ((record.header.flags & RecordFlags.LAST) !== 0) this.boundaryLsn = record.header.lsn;
  }

  /**
   * The redo point becomes durable: the file is fsynced, then control.json says where it stands.
   * Both run on the thread pool: the event loop keeps hardening and acknowledging meanwhile.
   */
  private seal(): Promise<void> {
    if (this.closed || this.boundaryLsn === this.sealedLsn) return this.sealing ?? Promise.resolve();
    this.sealing ??= this.sealOnce().finally(() => { this.sealing = null; });
    return this.sealing;
  }

  private async sealOnce(): Promise<void> {
    const lsn = this.boundaryLsn;
    await fdatasync(this.dbFd);
    const progress = this.control.restore;
    this.control = { ...this.control, checkpointLsn: lsn, logBaseLsn: lsn,
      ...(progress === undefined ? {} : { restore: { ...progress, redoLsn: lsn + 1 } }) };
    await this.persistControl();
    this.sealedLsn = lsn;
    // The log is needed after the redo point, and from where the principal's log backup chain
    // continues: after a failover, BACKUP LOG here reads it from there.
    this.log.truncateBefore(Math.min(lsn + 1, this.control.logChainLsn ?? Infinity));
  }

  /** The principal's log backup chain continues at `lsn` (null: it has none): keep the log from there. */
  holdLogChain(lsn: number | null): void {
    if ((this.control.logChainLsn ?? null) === lsn) return;
    this.control = { ...this.control, logChainLsn: lsn };
    this.persistControl().catch((error: Error) => this.options.onFatal(error));
  }

  /**
   * Where log backups continue once this database is the principal: the principal's chain LSN,
   * if this log still holds everything from it (null otherwise: a full backup starts a new chain).
   */
  logChainForPrincipal(): number | null {
    const lsn = this.control.logChainLsn ?? null;
    if (lsn === null) return null;
    const first = this.log.firstLsn ?? this.log.lastLsn + 1;
    return lsn >= first && lsn <= this.log.lastLsn + 1 ? lsn : null;
  }

  /** Control writes are serialized, and each writes the newest state. */
  private persistControl(): Promise<void> {
    this.controlWrites = this.controlWrites.then(() => writeControlAsync(this.paths.dir, this.control));
    return this.controlWrites;
  }

  /** Adopts the principal's recovery forks (after the handshake checked ours are a prefix of them). */
  adoptForks(forks: ControlState["forks"]): void {
    this.control = { ...this.control, ...(forks === undefined ? {} : { forks }) };
    this.persistControl().catch((error: Error) => this.options.onFatal(error));
  }

  /** Everything hardened is redone and sealed; the log and file are closed. Returns the control. */
  close(): Promise<ControlState> {
    // A role change and an instance shutdown may both close it: one close, shared.
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<ControlState> {
    await this.drainRedo(this.log.lastLsn);
    this.closed = true;
    clearInterval(this.sealTimer);
    this.unsubscribe();
    await this.log.close();
    fs.closeSync(this.dbFd);
    return this.control;
  }
}
