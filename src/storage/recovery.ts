// Startup recovery, with SQLite closed: find the end of our log, salvage WAL commits that chain
// exactly after it, redo every record after the checkpoint into the database file, then delete
// SQLite's -wal and -shm so SQLite itself has nothing to recover. Only then may SQLite open it.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseSegmentFileName } from "../log/segment.js";
import { forEachRecordSync } from "../log/runtime/log_reader.js";
import { LogCorruptionError, scanLog, type LogScan } from "../log/runtime/log_scan.js";
import { fsyncDirectory, type LogWriter } from "../log/runtime/log_writer.js";
import { assert } from "../util/assert.js";
import { writeControl, type ControlState } from "./control_file.js";
import { redoRecord } from "./redo.js";
import { WalCapture, positionAfter, transactionRecords } from "./wal_capture.js";
import { WAL_HEADER_BYTES, parseWalHeader } from "./wal_format.js";

export interface DatabasePaths {
  readonly dir: string;
  readonly dbPath: string;
  readonly walPath: string;
  readonly shmPath: string;
  readonly logDir: string;
}

export function databasePaths(dir: string): DatabasePaths {
  const dbPath = path.join(dir, "data.db");
  return { dir, dbPath, walPath: `${dbPath}-wal`, shmPath: `${dbPath}-shm`,
    logDir: path.join(dir, "log") };
}

/** Step 1: the valid log, its torn tail or dropped partial transaction wiped with zeros. */
export function recoverLogEnd(paths: DatabasePaths, control: ControlState): LogScan {
  // A segment whose preallocation a crash interrupted never got its final name.
  for (const name of fs.readdirSync(paths.logDir)) {
    if (name.endsWith(".tmp")) fs.rmSync(path.join(paths.logDir, name), { force: true });
  }
  const scanned = scanLog(paths.logDir);
  // A restored database's log starts after the backup it came from, not at LSN 1.
  const scan = scanned.lastLsn === 0 && control.logBaseLsn !== undefined
    ? { ...scanned, lastLsn: control.logBaseLsn } : scanned;
  if (scan.lastLsn < control.checkpointLsn) {
    throw new LogCorruptionError(`log ends at lsn ${scan.lastLsn} but the checkpoint is at `
      + `${control.checkpointLsn}`, paths.logDir, 0);
  }
  if (scan.tailDirty) wipeTail(paths.logDir, scan);
  return scan;
}

function wipeTail(logDir: string, scan: LogScan): void {
  const last = scan.segments[scan.segments.length - 1];
  for (const name of fs.readdirSync(logDir)) {
    const number = parseSegmentFileName(name);
    if (number !== null && (last === undefined || number > last.segmentNo)) {
      fs.unlinkSync(path.join(logDir, name));
    }
  }
  if (last !== undefined) {
    const fd = fs.openSync(last.path, "r+");
    try {
      const zeros = Buffer.alloc(1 << 20);
      for (let at = last.endOffset; at < last.segmentBytes; at += zeros.length) {
        fs.writeSync(fd, zeros, 0, Math.min(zeros.length, last.segmentBytes - at), at);
      }
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  fsyncDirectory(logDir);
}

/**
 * Step 2: commits SQLite made after our last record but before it was captured (a crash in
 * between) are kept only if they chain exactly after that record in the same WAL generation.
 * They were never acknowledged; keeping them is what SQLite itself would have done.
 */
export async function salvageWal(paths: DatabasePaths, scan: LogScan, log: LogWriter,
  epoch: number): Promise<number> {
  const last = scan.lastRecord;
  if (last === null || last.wal.commitFrame === 0 || !fs.existsSync(paths.walPath)) return 0;
  const headerBytes = Buffer.alloc(WAL_HEADER_BYTES);
  const fd = fs.openSync(paths.walPath, "r");
  try {
    fs.readSync(fd, headerBytes, 0, WAL_HEADER_BYTES, 0);
  } finally {
    fs.closeSync(fd);
  }
  const header = parseWalHeader(headerBytes);
  const start = header === null ? null : positionAfter(header, last.wal);
  if (start === null) return 0;
  const capture = new WalCapture(paths.walPath, start);
  let salvaged = 0;
  try {
    for (const transaction of capture.poll()) {
      for (const { lsn, record } of transactionRecords(capture, transaction, epoch, log.lastLsn + 1,
        Math.floor(fs.statSync(paths.walPath).mtimeMs))) {
        log.append(record, lsn);
      }
      salvaged++;
    }
  } finally {
    capture.close();
  }
  if (salvaged > 0) await log.waitDurable(log.lastLsn);
  return salvaged;
}

/** Step 3: redo after the checkpoint, drop SQLite's files, record the new checkpoint. */
export function redoAndSeal(paths: DatabasePaths, dbFd: number, log: LogWriter,
  control: ControlState): ControlState {
  assert(log.durableLsn === log.lastLsn, "redo before the log is durable");
  if (log.lastLsn > control.checkpointLsn) {
    forEachRecordSync(log.segmentList(), control.checkpointLsn + 1, log.lastLsn,
      (record) => redoRecord(dbFd, record));
  }
  fs.fsyncSync(dbFd);
  for (const file of [paths.walPath, paths.shmPath]) fs.rmSync(file, { force: true });
  fsyncDirectory(paths.dir);
  const sealed: ControlState = { ...control, checkpointLsn: log.lastLsn };
  writeControl(paths.dir, sealed);
  return sealed;
}

/** Rebuilds a database file from its log alone (it must start with the base image). */
export function rebuildFromLog(logDir: string, targetPath: string, uptoLsn?: number): number {
  const scan = scanLog(logDir);
  const last = uptoLsn ?? scan.lastLsn;
  const fd = fs.openSync(targetPath, "w+");
  try {
    forEachRecordSync(scan.segments, scan.firstLsn ?? 1, last, (record) => redoRecord(fd, record));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return last;
}

