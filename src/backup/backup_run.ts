// BACKUP DATABASE (full, differential) and BACKUP LOG, online: writers keep committing while a
// full or differential backup streams the pages of one snapshot LSN and a log backup streams
// the records of the chain. Nothing is held in memory whole; the set counts only once its
// SET_END is fsynced, and only then do the differential base and the log chain move.
import { randomUUID } from "node:crypto";
import { SqlError } from "../errors/sql_error.js";
import { RecordFlags } from "../log/record.js";
import type { MirrorliteDatabase } from "../storage/database.js";
import type { Snapshot } from "../storage/snapshot.js";
import type { BackupCommand } from "../tsql/backup_statements.js";
import { FrameKind, type BackupSetHeader, type BackupSetTrailer, type MediaHeader } from "./media_format.js";
import { MediaWriter } from "./media_file.js";
import { prefetched } from "../util/prefetch.js";

/** Pages per data frame: 4 MiB at the default 4 KiB page, one read and one write each. */
const PAGES_PER_FRAME = 1024;
/** Log records are grouped into frames of about this many bytes. */
const LOG_FRAME_BYTES = 4 * 1024 * 1024;

export interface BackupEnvironment {
  readonly serverName: string;
  readonly userName: string;
  readonly softwareVersion: string;
  readonly databaseCreationDate: string;
  /** Informational messages (STATS, "Processed N pages…"), sent as INFO while it runs. */
  readonly info: (error: SqlError) => void;
  readonly now: () => Date;
}

export interface BackupOutcome {
  readonly devicePath: string;
  readonly header: BackupSetHeader;
  readonly trailer: BackupSetTrailer;
  /** The media header of the device (null for NUL). */
  readonly media: MediaHeader | null;
}

/** Runs a BACKUP DATABASE; the caller has checked the database is ONLINE and not master-log. */
export async function backupDatabase(db: MirrorliteDatabase, command: BackupCommand,
  devicePath: string, env: BackupEnvironment): Promise<BackupOutcome> {
  const differential = command.differential;
  const base = db.differentialBase;
  if (differential && base === null) throw new SqlError("BACKUP_NO_DIFFERENTIAL_BASE", [db.name]);
  const startsBase = !differential && !command.copyOnly;
  const started = env.now();
  const writer = await MediaWriter.open(devicePath, writeOptions(command, env));
  let snapshot: Snapshot | null = null;
  try {
    snapshot = await db.snapshot(startsBase);
    const pgnos = differential ? [...db.changedPagesSinceBase()!.pages(snapshot.dbSizePages)] : null;
    const header = setHeader(db, command, env, started, {
      backupType: differential ? 5 : 1, writer, dbSizePages: snapshot.dbSizePages,
      firstLsn: snapshot.lsn, lastLsn: snapshot.lsn + 1,
      differentialBaseLsn: differential ? base!.lsn : null,
      differentialBaseGuid: differential ? base!.guid : null, beginsLogChain: false,
    });
    await writer.begin(header);
    const total = pgnos?.length ?? snapshot.dbSizePages;
    const stats = statsReporter(command.stats, total, env.info);
    let pages = 0;
    for await (const run of prefetched(snapshot.runs(PAGES_PER_FRAME, pgnos ?? undefined))) {
      await writer.data(FrameKind.PAGES, run.data, run.pgno, run.count, command.compression === true);
      pages += run.count;
      stats(pages);
    }
    const trailer = await writer.finish({ backupSetGuid: header.backupSetGuid, lastLsn: header.lastLsn,
      finishDate: env.now().toISOString(), stateTimeMs: header.stateTimeMs, pageCount: pages, recordCount: 0 });
    snapshot.close();
    if (startsBase) db.completeFullBackup({ lsn: snapshot.lsn, guid: header.backupSetGuid });
    // A full or differential backup starts the log chain (after SIMPLE, or the first one).
    if (!command.copyOnly || differential) {
      if (db.logChainLsn === null && db.recoveryModel !== "SIMPLE") db.logBackedUpTo(snapshot.lsn + 1);
    }
    reportPages(env, db.name, pages, header.position, false);
    return { devicePath, header, trailer, media: writer.media };
  } catch (error) {
    snapshot?.close();
    if (startsBase) db.abandonFullBackup();
    throw error;
  } finally {
    await writer.close();
  }
}

/**
 * BACKUP LOG: the records from the chain's start to the durable end of the log, cut at the last
 * commit. `endLsn` bounds it (a tail-log backup holds the write lock and passes the log's end).
 */
export async function backupLog(db: MirrorliteDatabase, command: BackupCommand, devicePath: string,
  env: BackupEnvironment, endLsn = db.log.durableLsn): Promise<BackupOutcome> {
  const firstLsn = db.logChainLsn;
  if (firstLsn === null) throw new SqlError("BACKUP_LOG_NO_FULL");
  const release = db.holds.add("ACTIVE_BACKUP_OR_RESTORE", firstLsn);
  const started = env.now();
  const writer = await MediaWriter.open(devicePath, writeOptions(command, env));
  try {
    const header = setHeader(db, command, env, started, {
      backupType: 2, writer, dbSizePages: db.dbSizePages, firstLsn, lastLsn: firstLsn,
      differentialBaseLsn: null, differentialBaseGuid: null,
      beginsLogChain: db.controlState.logChainBegunLsn === firstLsn,
    });
    await writer.begin(header);
    const shipped = await writeLogFrames(db, writer, firstLsn, endLsn, command, env);
    const lastLsn = shipped.lastCommitLsn + 1;
    const trailer = await writer.finish({ backupSetGuid: header.backupSetGuid, lastLsn,
      finishDate: env.now().toISOString(), stateTimeMs: shipped.stateTimeMs || header.stateTimeMs,
      pageCount: shipped.pages, recordCount: shipped.records });
    if (!command.copyOnly && !command.noTruncate) db.logBackedUpTo(lastLsn);
    reportPages(env, db.name, shipped.pages, header.position, true);
    return { devicePath, header: { ...header, lastLsn }, trailer, media: writer.media };
  } finally {
    release();
    await writer.close();
  }
}

interface ShippedLog { lastCommitLsn: number; pages: number; records: number; stateTimeMs: number }

async function writeLogFrames(db: MirrorliteDatabase, writer: MediaWriter, firstLsn: number,
  endLsn: number, command: BackupCommand, env: BackupEnvironment): Promise<ShippedLog> {
  const shipped: ShippedLog = { lastCommitLsn: firstLsn - 1, pages: 0, records: 0, stateTimeMs: 0 };
  const stats = statsReporter(command.stats, Math.max(1, endLsn - firstLsn + 1), env.info);
  let frame: Buffer[] = [];
  let frameBytes = 0;
  let frameFirst = firstLsn;
  const flush = async (): Promise<void> => {
    if (frame.length === 0) return;
    await writer.data(FrameKind.LOG, Buffer.concat(frame), frameFirst, frame.length, command.compression === true);
    frameFirst += frame.length;
    frame = [];
    frameBytes = 0;
  };
  if (endLsn >= firstLsn) {
    for await (const record of db.readLogRaw(firstLsn, endLsn)) {
      frame.push(record.bytes);
      frameBytes += record.bytes.length;
      shipped.records++;
      shipped.pages += record.header.pageCount;
      if ((record.header.flags & RecordFlags.LAST) !== 0) {
        shipped.lastCommitLsn = record.header.lsn;
        shipped.stateTimeMs = record.header.commitTimeMs;
      }
      if (frameBytes >= LOG_FRAME_BYTES) await flush();
      stats(record.header.lsn - firstLsn + 1);
    }
  }
  await flush();
  return shipped;
}

interface SetFields {
  readonly backupType: 1 | 2 | 5;
  readonly writer: MediaWriter;
  readonly dbSizePages: number;
  readonly firstLsn: number;
  readonly lastLsn: number;
  readonly differentialBaseLsn: number | null;
  readonly differentialBaseGuid: string | null;
  readonly beginsLogChain: boolean;
}

function setHeader(db: MirrorliteDatabase, command: BackupCommand, env: BackupEnvironment,
  started: Date, fields: SetFields): BackupSetHeader {
  const control = db.controlState;
  return {
    position: fields.writer.position, backupSetGuid: randomUUID(), backupType: fields.backupType,
    name: command.name, description: command.description, databaseName: db.name,
    familyGuid: control.familyGuid!, forks: control.forks!, recoveryModel: control.recoveryModel,
    pageSize: control.pageSize, dbSizePages: fields.dbSizePages,
    firstLsn: fields.firstLsn, lastLsn: fields.lastLsn, checkpointLsn: control.checkpointLsn,
    databaseBackupLsn: db.differentialBase?.lsn ?? 0,
    differentialBaseLsn: fields.differentialBaseLsn, differentialBaseGuid: fields.differentialBaseGuid,
    beginsLogChain: fields.beginsLogChain, isCopyOnly: command.copyOnly && !command.differential,
    isForceOffline: command.noRecovery, hasBackupChecksums: command.checksum,
    compressed: command.compression === true, userName: env.userName, serverName: env.serverName,
    databaseCreationDate: env.databaseCreationDate, startDate: started.toISOString(),
    stateTimeMs: started.getTime(), softwareVersion: env.softwareVersion,
  };
}

function writeOptions(command: BackupCommand, env: BackupEnvironment) {
  return { init: command.init || command.format, format: command.format, skip: command.skip || command.format,
    mediaName: command.mediaName,
    mediaDescription: command.mediaDescription, softwareVersion: env.softwareVersion, now: env.now() };
}

/** "N percent processed." each time another `step` percent is done (STATS, default off). */
export function statsReporter(step: number | null, total: number, info: (message: SqlError) => void): (done: number) => void {
  let next = step ?? Infinity;
  return (done) => {
    const percent = Math.floor((done * 100) / Math.max(1, total));
    while (percent >= next && next <= 100) {
      info(new SqlError("BACKUP_PERCENT_PROCESSED", [next]));
      next += step!;
    }
  };
}

function reportPages(env: BackupEnvironment, database: string, pages: number, position: number, log: boolean): void {
  env.info(new SqlError("BACKUP_PROCESSED_PAGES", [pages, database, log ? `${database}_log` : database, position]));
}

export type { BackupSetHeader };
