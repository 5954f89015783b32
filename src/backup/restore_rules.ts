// Which backup set may be applied to which database, with SQL Server's errors. Pure: the
// restore runtime calls these before it writes a byte, so a refused RESTORE leaves the
// database exactly as it was.
import { SqlError } from "../errors/sql_error.js";
import type { ControlState } from "../storage/control_file.js";
import type { BackupSetHeader, BackupSetTrailer } from "./media_format.js";

export const BACKUP_TYPE_DESCRIPTIONS: Record<number, string> = {
  1: "DATABASE", 2: "TRANSACTION LOG", 5: "DATABASE DIFFERENTIAL",
};

/** LSNs are shown as decimal numbers, as SQL Server shows its numeric(25,0) LSNs. */
export function formatLsn(lsn: number): string {
  return String(lsn);
}

export type TargetState =
  | { readonly kind: "missing" }
  | { readonly kind: "online"; readonly control: ControlState; readonly hasUnbackedLog: boolean }
  | { readonly kind: "restoring"; readonly control: ControlState };

export interface RestoreRequest {
  readonly target: "DATABASE" | "LOG";
  readonly databaseName: string;
  readonly replace: boolean;
  readonly stopAtMs: number | null;
}

/** Checks a RESTORE DATABASE of a full or differential set; throws the SQL Server error. */
export function checkRestoreDatabase(request: RestoreRequest, state: TargetState,
  header: BackupSetHeader, devicePath: string): void {
  if (header.backupType === 2) {
    throw new SqlError("RESTORE_WRONG_BACKUP_TYPE", [devicePath, "BACKUP LOG"]);
  }
  if (header.backupType === 5) return checkDifferential(state, header, request.databaseName);
  if (state.kind === "missing" || request.replace) return;
  if (state.control.familyGuid !== header.familyGuid) {
    throw new SqlError("RESTORE_DIFFERENT_DATABASE", [request.databaseName]);
  }
  if (state.kind === "online" && state.hasUnbackedLog && request.stopAtMs === null) {
    throw new SqlError("RESTORE_TAIL_NOT_BACKED_UP", [request.databaseName]);
  }
}

function checkDifferential(state: TargetState, header: BackupSetHeader, name: string): void {
  if (state.kind === "missing") throw new SqlError("RESTORE_NEEDS_FULL_BACKUP", [name]);
  if (state.kind === "online") throw new SqlError("RESTORE_NOTHING_TO_ROLL_FORWARD");
  const progress = state.control.restore!;
  const base = progress.base;
  if (header.differentialBaseGuid !== base.guid || header.differentialBaseLsn !== base.lsn
    || header.firstLsn + 1 < progress.redoLsn) {
    throw new SqlError("RESTORE_DIFFERENTIAL_BASE_MISMATCH");
  }
  if (progress.pendingSetGuid !== undefined && progress.pendingSetGuid !== header.backupSetGuid) {
    throw new SqlError("RESTORE_DIFFERENTIAL_BASE_MISMATCH");
  }
}

/** Checks a RESTORE LOG against the database's redo point and recovery path. */
export function checkRestoreLog(request: RestoreRequest, state: TargetState, header: BackupSetHeader,
  trailer: BackupSetTrailer, devicePath: string): void {
  if (header.backupType !== 2) {
    throw new SqlError("RESTORE_WRONG_BACKUP_TYPE", [devicePath, header.backupType === 5
      ? "BACKUP DATABASE WITH DIFFERENTIAL" : "BACKUP DATABASE"]);
  }
  if (state.kind === "missing") throw new SqlError("RESTORE_NEEDS_FULL_BACKUP", [request.databaseName]);
  if (state.kind === "online") throw new SqlError("RESTORE_NOTHING_TO_ROLL_FORWARD");
  const control = state.control;
  const progress = control.restore!;
  if (progress.pendingSetGuid !== undefined) throw new SqlError("RESTORE_DIFFERENTIAL_BASE_MISMATCH");
  if (control.familyGuid !== header.familyGuid) {
    throw new SqlError("RESTORE_DIFFERENT_DATABASE", [request.databaseName]);
  }
  if (request.stopAtMs !== null && progress.recoveryModel === "SIMPLE") {
    throw new SqlError("RESTORE_STOPAT_SIMPLE");
  }
  const redo = progress.redoLsn;
  if (header.firstLsn > redo) {
    throw new SqlError("RESTORE_LOG_TOO_RECENT", [formatLsn(header.firstLsn), formatLsn(redo)]);
  }
  const empty = header.firstLsn === trailer.lastLsn;
  if (trailer.lastLsn < redo || (trailer.lastLsn === redo && !empty)) {
    throw new SqlError("RESTORE_LOG_TOO_EARLY", [formatLsn(trailer.lastLsn), formatLsn(redo)]);
  }
  if (!onRecoveryPath(control, header, redo)) throw new SqlError("RESTORE_FORK_MISMATCH");
}

/**
 * The database's forks must be a prefix of the backup's, and a fork the backup has beyond
 * them must begin at or after the redo point: otherwise the log continues another history.
 */
function onRecoveryPath(control: ControlState, header: BackupSetHeader, redo: number): boolean {
  const mine = control.forks ?? [];
  const theirs = header.forks;
  if (mine.length > theirs.length) return false;
  for (let i = 0; i < mine.length; i++) if (mine[i]!.guid !== theirs[i]!.guid) return false;
  const next = theirs[mine.length];
  return next === undefined || next.firstLsn >= redo;
}

/** RESTORE DATABASE db WITH RECOVERY on its own: only a RESTORING database can be recovered. */
export function checkRecoverOnly(state: TargetState, name: string): void {
  if (state.kind === "missing") throw new SqlError("DATABASE_DOES_NOT_EXIST", [name]);
  if (state.kind === "online") throw new SqlError("RESTORE_ALREADY_RECOVERED");
}

/** STOPAT text → ms since the epoch (server local time, as GETDATE()); 4336-style error if invalid. */
export function parseStopAt(text: string): number {
  const match = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?\s*$/.exec(text);
  if (match === null) throw new SqlError("RESTORE_STOPAT_INVALID", [text]);
  const [, y, mo, d, h, mi, s, frac] = match;
  const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), ms);
  if (Number.isNaN(date.getTime()) || date.getMonth() !== Number(mo) - 1) {
    throw new SqlError("RESTORE_STOPAT_INVALID", [text]);
  }
  return date.getTime();
}
