// BACKUP and RESTORE statements for a session: device paths, the database's state, exclusive
// access and messages around the backup module's work (src/backup), plus msdb history. A
// failure is reported as SQL Server does: the cause, then 3013 "… is terminating abnormally".
import * as fs from "node:fs";
import * as path from "node:path";
import { backupDatabase, backupLog, statsReporter, type BackupEnvironment, type BackupOutcome } from "../backup/backup_run.js";
import { findSet, scanMedia } from "../backup/media_file.js";
import { restoreInfo } from "../backup/restore_info.js";
import {
  checkRecoverOnly, checkRestoreDatabase, checkRestoreLog, parseStopAt, type TargetState,
} from "../backup/restore_rules.js";
import { recoverDatabase, restoreDifferential, restoreFull, restoreLog } from "../backup/restore_run.js";
import { SqlError } from "../errors/sql_error.js";
import { MASTER_DATABASE_ID } from "../catalog/master.js";
import { DoneStatus } from "../tds/tokens.js";
import type { BackupCommand, RestoreCommand } from "../tsql/backup_statements.js";
import { infoToken } from "./login_response.js";
import type { ResponseStream } from "./response.js";
import type { DoneChain, TsqlSession } from "./tsql_session.js";

const SOFTWARE_VERSION = "mirrorlite 0.1.0";

export async function runBackupCommand(session: TsqlSession, command: BackupCommand | RestoreCommand,
  out: ResponseStream, done: DoneChain): Promise<void> {
  const verb = command.kind === "backup" ? `BACKUP ${command.target}`
    : command.target === "VERIFYONLY" ? "VERIFY DATABASE" : `RESTORE ${command.target}`;
  const info = (error: SqlError): void => {
    done.release();
    out.tokens.info(infoToken(error, session.instance.serverName, command.line));
    void out.flushNow();
  };
  try {
    if (session.inTransaction) throw new SqlError("BACKUP_IN_TRANSACTION");
    if (command.kind === "backup") await runBackup(session, command, info, verb);
    else if (command.target === "DATABASE" || command.target === "LOG") await runRestore(session, command, info, verb);
    else if (await restoreInfo(session, command, devicePath(session, command.devices), out, done, info)) return;
  } catch (error) {
    if (!(error instanceof SqlError) || error.number === 3021) throw error;
    done.release();
    out.tokens.error(infoToken(error, session.instance.serverName, command.line));
    throw new SqlError("BACKUP_TERMINATING", [verb]);
  }
  done.statementDone(DoneStatus.FINAL, 0, 0);
}

function devicePath(session: TsqlSession, devices: readonly { path: string }[]): string {
  if (devices.length !== 1) throw new SqlError("BACKUP_DEVICE_MULTIPLE", [devices.length]);
  const given = devices[0]!.path;
  if (given.toUpperCase() === "NUL") return "NUL";
  if (path.isAbsolute(given)) return given;
  fs.mkdirSync(session.instance.backupDirectory, { recursive: true });
  return path.resolve(session.instance.backupDirectory, given);
}

async function runBackup(session: TsqlSession, command: BackupCommand, info: (error: SqlError) => void,
  verb: string): Promise<void> {
  const instance = session.instance;
  const target = instance.database(command.database);
  if (target === null) {
    const entry = instance.catalog.database(command.database);
    if (entry !== undefined && instance.restoringControl(entry.id) !== null) {
      throw new SqlError("BACKUP_RESTORING_DATABASE", [entry.name, entry.name]);
    }
    throw new SqlError("DATABASE_DOES_NOT_EXIST", [command.database]);
  }
  const { entry, db } = target;
  const device = devicePath(session, command.devices);
  const env: BackupEnvironment = {
    serverName: instance.serverName, userName: session.login.name, softwareVersion: SOFTWARE_VERSION,
    databaseCreationDate: entry.createDate, info, now: () => new Date(),
  };
  const started = performance.now();
  let outcome: BackupOutcome;
  if (command.target === "DATABASE") {
    outcome = await backupDatabase(db, command, device, env);
  } else {
    if (entry.id === MASTER_DATABASE_ID) throw new SqlError("BACKUP_LOG_MASTER");
    if (db.recoveryModel === "SIMPLE") throw new SqlError("BACKUP_LOG_SIMPLE");
    outcome = command.noRecovery ? await tailLogBackup(session, command, device, env)
      : await backupLog(db, command, device, env);
  }
  if (device !== "NUL") instance.backupHistory.record({ kind: "backup", ...outcome });
  info(successMessage(verb, outcome.trailer.pageCount, outcome.trailer.storedSizeBytes, started));
}

/** BACKUP LOG … WITH NORECOVERY: the whole log under the write lock, then RESTORING. */
async function tailLogBackup(session: TsqlSession, command: BackupCommand, device: string,
  env: BackupEnvironment): Promise<BackupOutcome> {
  const { entry, db } = session.instance.database(command.database)!;
  exclusiveAccess(session, entry.id, entry.name);
  const owner = {};
  await db.writeLock.acquire(owner, -1);
  let outcome: BackupOutcome;
  try {
    await db.log.waitDurable(db.log.lastLsn);
    outcome = await backupLog(db, command, device, env, db.log.lastLsn);
  } finally {
    db.writeLock.release(owner);
  }
  const lastLsn = outcome.trailer.lastLsn;
  const control = db.controlState;
  await session.instance.takeOffline(entry, { ...control, state: "RESTORING",
    restore: { redoLsn: lastLsn, base: control.differentialBase ?? { lsn: 0, guid: "" },
      sourceDatabaseName: entry.name, recoveryModel: control.recoveryModel,
      stateTimeMs: outcome.trailer.stateTimeMs } });
  return outcome;
}

function exclusiveAccess(session: TsqlSession, id: number, name: string): void {
  const users = session.instance.databaseUsers(id);
  if (session.databaseId === id) throw new SqlError("RESTORE_DATABASE_IN_USE_BY_SESSION", [name]);
  if (users > 0) throw new SqlError("RESTORE_EXCLUSIVE_ACCESS");
}

function successMessage(verb: string, pages: number, bytes: number, startedMs: number): SqlError {
  const seconds = Math.max(0.001, (performance.now() - startedMs) / 1000);
  const rate = bytes / (1024 * 1024) / seconds;
  return new SqlError("BACKUP_SUCCEEDED", [verb, pages, seconds.toFixed(3), rate.toFixed(3)]);
}

function targetState(session: TsqlSession, name: string): TargetState {
  const instance = session.instance;
  const open = instance.database(name);
  if (open !== null) {
    const chain = open.db.logChainLsn;
    return { kind: "online", control: open.db.controlState,
      hasUnbackedLog: chain !== null && open.db.recoveryModel !== "SIMPLE" && open.db.log.lastLsn >= chain };
  }
  const entry = instance.catalog.database(name);
  const control = entry === undefined ? null : instance.restoringControl(entry.id);
  return control === null ? { kind: "missing" } : { kind: "restoring", control };
}

async function runRestore(session: TsqlSession, command: RestoreCommand, info: (error: SqlError) => void,
  verb: string): Promise<void> {
  const instance = session.instance;
  const name = command.database!;
  if (name.toLowerCase() === "master") throw new SqlError("RESTORE_MASTER");
  if (instance.mirroring.isMirrored(name)) throw new SqlError("DBM_RESTORE_MIRRORED", [name]);
  const state = targetState(session, name);
  const entry = instance.catalog.database(name);
  if (entry !== undefined) exclusiveAccess(session, entry.id, entry.name);
  if (command.devices.length === 0) {
    checkRecoverOnly(state, name);
    await recover(session, name, info);
    return;
  }
  const device = devicePath(session, command.devices);
  const scan = await scanMedia(device);
  const set = findSet(scan, command.file ?? 1);
  if (command.checksum === true && !set.header.hasBackupChecksums) throw new SqlError("RESTORE_CHECKSUM_ABSENT");
  const stopAtMs = command.stopAt === null ? null : parseStopAt(command.stopAt);
  const request = { target: command.target as "DATABASE" | "LOG", databaseName: name,
    replace: command.replace, stopAtMs };
  if (command.target === "DATABASE") checkRestoreDatabase(request, state, set.header, device);
  else checkRestoreLog(request, state, set.header, set.trailer, device);
  checkMoves(command, set.header.databaseName, instance.engine.databaseDir(name));
  const restoringBefore = state.kind === "restoring" ? state.control : null;
  if (stopAtMs !== null && restoringBefore?.restore !== undefined && stopAtMs < restoringBefore.restore.stateTimeMs) {
    throw new SqlError("RESTORE_STOPAT_TOO_EARLY");
  }
  const started = performance.now();
  const report = { onPages: statsReporter(command.stats, set.trailer.pageCount, info) };
  const dir = instance.engine.databaseDir(name);
  let pages = set.trailer.pageCount;
  let stopReached = false;
  if (set.header.backupType === 1) {
    const temp = `${dir}.restoring`;
    fs.rmSync(temp, { recursive: true, force: true });
    try {
      const control = await restoreFull(scan, set, temp, report);
      await instance.installRestored(name, temp, control, new Date());
    } catch (error) {
      fs.rmSync(temp, { recursive: true, force: true });
      throw error;
    }
  } else if (set.header.backupType === 5) {
    instance.noteRestoring(entry!.id, await restoreDifferential(scan, set, dir, restoringBefore!, report));
  } else {
    const result = await restoreLog(scan, set, dir, restoringBefore!, stopAtMs, report);
    instance.noteRestoring(entry!.id, result.control);
    pages = result.pages;
    stopReached = result.stopReached;
  }
  const restored = instance.catalog.database(name)!;
  info(new SqlError("BACKUP_PROCESSED_PAGES", [pages, name, set.header.backupType === 2 ? `${name}_log` : name,
    set.header.position]));
  instance.backupHistory.record({ kind: "restore", restoreDate: new Date().toISOString(),
    destinationDatabaseName: restored.name, userName: session.login.name,
    backupSetGuid: set.header.backupSetGuid, restoreType: set.header.backupType === 1 ? "D"
      : set.header.backupType === 5 ? "I" : "L", replace: command.replace, recovery: command.recovery,
    stopAt: command.stopAt });
  info(successMessage(verb, pages, set.trailer.backupSizeBytes, started));
  if (!command.recovery) return;
  if (stopAtMs !== null && !stopReached) {
    info(new SqlError("RESTORE_STOPAT_NOT_REACHED"));
    return;
  }
  await recover(session, name, info);
}

async function recover(session: TsqlSession, name: string, info: (error: SqlError) => void): Promise<void> {
  const instance = session.instance;
  const entry = instance.catalog.database(name)!;
  const control = instance.restoringControl(entry.id)!;
  if (control.restore?.pendingSetGuid !== undefined) throw new SqlError("RESTORE_DIFFERENTIAL_BASE_MISMATCH");
  recoverDatabase(instance.engine.databaseDir(entry.name), control);
  await instance.bringOnline(entry);
  info(new SqlError("RESTORE_COMPLETE", [entry.name]));
}

/**
 * MOVE names the backup's logical files (db and db_log). The files of a database live in the
 * instance's data directory, so a MOVE may only name where they already go there.
 */
function checkMoves(command: RestoreCommand, sourceName: string, dir: string): void {
  for (const move of command.moves) {
    const logical = move.logicalName.toLowerCase();
    const data = logical === sourceName.toLowerCase();
    if (!data && logical !== `${sourceName.toLowerCase()}_log`) {
      throw new SqlError("RESTORE_UNKNOWN_LOGICAL_FILE", [move.logicalName, sourceName]);
    }
    const expected = data ? path.join(dir, "data.db") : path.join(dir, "log");
    if (path.resolve(move.physicalName) !== expected) {
      throw new SqlError("RESTORE_MOVE_PATH", [move.logicalName, move.physicalName]);
    }
  }
}
