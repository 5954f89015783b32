// The per-database control file: the little state that is not in the log itself. Replaced
// atomically (temp file, fsync, rename, fsync directory), so a crash leaves the old or the new.
import * as fs from "node:fs";
import * as path from "node:path";
import { fsyncDirectory } from "../log/runtime/log_writer.js";

export type RecoveryModel = "FULL" | "SIMPLE" | "BULK_LOGGED";

export interface ControlState {
  readonly format: 1;
  /** Role sequence / recovery fork: the same LSN in two epochs is two different histories. */
  readonly epoch: number;
  /** Every record up to here is in the database file (redo starts after it). */
  readonly checkpointLsn: number;
  readonly recoveryModel: RecoveryModel;
  readonly pageSize: number;
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
  const file = path.join(dir, "control.json");
  const temp = `${file}.tmp`;
  const fd = fs.openSync(temp, "w");
  try {
    fs.writeSync(fd, JSON.stringify(state, null, 2) + "\n");
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  fsyncDirectory(dir);
}
