// The per-database control file: the little state that is not in the log itself. Replaced
// atomically (temp file, fsync, rename, fsync directory), so a crash leaves the old or the new.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileDurably, writeFileDurablyAsync } from "./durable_file.js";

export type RecoveryModel = "FULL" | "SIMPLE" | "BULK_LOGGED";

export interface ControlState {
  readonly format: 1;
  /** Role sequence / recovery fork: the same LSN in two epochs is two different histories. */
  readonly epoch: number;
  /** Every record up to here is in the database file (redo starts after it). */
  readonly checkpointLsn: number;
  readonly recoveryModel: RecoveryModel;
  readonly pageSize: number;
  /** Backup family GUID (SQL Server's family_guid): set at CREATE DATABASE, kept by restores. */
  readonly familyGuid?: string;
  /** Recovery forks, oldest first: each RESTORE … WITH RECOVERY starts one (RecoveryForkID). */
  readonly forks?: readonly RecoveryFork[];
  /** RESTORING until RESTORE … WITH RECOVERY: SQLite must not open the file before then. */
  readonly state?: DatabaseState;
  /** A restored log starts after this LSN (the backup's end); its records follow from here. */
  readonly logBaseLsn?: number;
  /** Where the log backup chain stands (null: no chain yet, BACKUP LOG gives 4214). */
  readonly logChainLsn?: number | null;
  /** Where the current chain began (the first log backup of a chain has BeginsLogChain = 1). */
  readonly logChainBegunLsn?: number | null;
  /** The full backup a differential is based on (null: none, 3035). */
  readonly differentialBase?: DifferentialBase | null;
  /** What a RESTORING database has been rolled forward to, for the next RESTORE to check. */
  readonly restore?: RestoreProgress;
}

export type DatabaseState = "ONLINE" | "RESTORING";

export interface RecoveryFork {
  readonly guid: string;
  readonly epoch: number;
  /** The first LSN written in this fork. */
  readonly firstLsn: number;
}

export interface DifferentialBase {
  /** The full backup's LSN (its snapshot): the changed-page map counts pages changed after it. */
  readonly lsn: number;
  readonly guid: string;
}

export interface RestoreProgress {
  /** The next LSN a log backup must supply (the database is as of redoLsn - 1). */
  readonly redoLsn: number;
  /** The full backup restored first: a differential must be based on it (3136). */
  readonly base: DifferentialBase;
  /** The database name in the backup sets restored so far. */
  readonly sourceDatabaseName: string;
  /** The restored backups' recovery model (STOPAT under SIMPLE gives 3145). */
  readonly recoveryModel: RecoveryModel;
  /** When the restored state was current (ms): a STOPAT before it is too early (4335). */
  readonly stateTimeMs: number;
  /** A differential being applied: only it may be applied until it completes. */
  readonly pendingSetGuid?: string;
}

export class ControlFileError extends Error {
  override readonly name = "ControlFileError";
  readonly hint = "The database's control.json is missing or damaged; restore it from a backup.";
}

export function readControl(dir: string): ControlState {
  const file = path.join(dir, "control.json");
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new ControlFileError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const state = parsed as ControlState;
  if (state.format !== 1 || !Number.isSafeInteger(state.checkpointLsn)
    || !["FULL", "SIMPLE", "BULK_LOGGED"].includes(state.recoveryModel)) {
    throw new ControlFileError(`${file} is not a valid control file`);
  }
  return state;
}

export function writeControl(dir: string, state: ControlState): void {
  writeFileDurably(dir, "control.json", JSON.stringify(state, null, 2) + "\n");
}

/** writeControl off the event loop (the mirror seals its redo point several times a second). */
export function writeControlAsync(dir: string, state: ControlState): Promise<void> {
  return writeFileDurablyAsync(dir, "control.json", JSON.stringify(state, null, 2) + "\n");
}
