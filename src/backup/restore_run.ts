// The file work of RESTORE, with SQLite closed: a full backup becomes a new database directory
// (written beside the old one, swapped in only when complete), a differential overwrites the
// changed pages, a log backup is redone record by record into the file. Between restores the
// database is RESTORING: control.json says how far it has been rolled forward. Redo writes
// whole page images, so a restore interrupted by a crash can simply be run again.
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { SqlError } from "../errors/sql_error.js";
import { RECORD_HEADER_BYTES, RecordFlags, decodeBody, decodeHeader } from "../log/record.js";
import { LogWriter, fsyncDirectory } from "../log/runtime/log_writer.js";
import { SEGMENT_BYTES_MIN } from "../log/segment.js";
import { writeControl, type ControlState, type RecoveryModel } from "../storage/control_file.js";
import { databasePaths } from "../storage/recovery.js";
import { redoRecord } from "../storage/redo.js";
import { prefetched } from "../util/prefetch.js";
import { ChangedPageMap } from "../storage/changed_pages.js";
import { FrameKind } from "./media_format.js";
import { PositionedWriter } from "./positioned_writer.js";
import { readSetFrames, type MediaScan, type ScannedSet } from "./media_file.js";


export interface RestoreProgressReport {
  /** Called with pages done so far (STATS). */
  readonly onPages: (pages: number) => void;
}

/** Restores a full backup into `dir` (a new directory); the database is left RESTORING. */
export async function restoreFull(scan: MediaScan, set: ScannedSet, dir: string,
  report: RestoreProgressReport): Promise<ControlState> {
  const { header, trailer } = set;
  const paths = databasePaths(dir);
  fs.mkdirSync(paths.logDir, { recursive: true });
  await writeSetPages(scan, set, paths.dbPath, "w", report);
  // The smallest first segment: it is zero-filled and fsynced, and the database's own segment
  // size applies from the next one on.
  await LogWriter.createFirstSegment(paths.logDir, SEGMENT_BYTES_MIN);
  const lsn = header.firstLsn;
  const control: ControlState = {
    format: 1, epoch: header.forks[header.forks.length - 1]!.epoch, checkpointLsn: lsn,
    recoveryModel: header.recoveryModel, pageSize: header.pageSize, familyGuid: header.familyGuid,
    forks: header.forks, state: "RESTORING", logBaseLsn: lsn, logChainLsn: null,
    differentialBase: null,
    restore: { redoLsn: lsn + 1, base: { lsn, guid: header.backupSetGuid },
      sourceDatabaseName: header.databaseName, recoveryModel: header.recoveryModel,
      stateTimeMs: trailer.stateTimeMs },
  };
  // The restored full backup is the differential base once recovered: pages that the
  // differential and log restores write are tracked from here.
  new ChangedPageMap(lsn, lsn).persist(dir);
  writeControl(dir, control);
  fsyncDirectory(path.dirname(dir));
  return control;
}

/** Applies a differential over a RESTORING database: its pages, then its size. */
export async function restoreDifferential(scan: MediaScan, set: ScannedSet, dir: string,
  control: ControlState, report: RestoreProgressReport): Promise<ControlState> {
  const { header, trailer } = set;
  const progress = control.restore!;
  // Marked first: a crash halfway leaves pages of this differential, so only it may follow.
  writeControl(dir, { ...control, restore: { ...progress, pendingSetGuid: header.backupSetGuid } });
  const map = baseMap(dir, control);
  await writeSetPages(scan, set, databasePaths(dir).dbPath, "r+", report,
    (first, count) => map?.notePages(header.firstLsn, pageNumbers(first, count)));
  const lsn = header.firstLsn;
  map?.persist(dir);
  const next: ControlState = { ...control, checkpointLsn: lsn, logBaseLsn: lsn,
    restore: { base: progress.base, redoLsn: lsn + 1, sourceDatabaseName: progress.sourceDatabaseName,
      recoveryModel: header.recoveryModel, stateTimeMs: trailer.stateTimeMs } };
  writeControl(dir, next);
  return next;
}

/**
 * Writes a full or differential set's pages into the database file (several writes in flight,
 * the next frame read meanwhile), then sets the file's size and fsyncs it. Returns the pages.
 */
async function writeSetPages(scan: MediaScan, set: ScannedSet, dbPath: string, flags: "w" | "r+",
  report: RestoreProgressReport, onFrame?: (firstPgno: number, count: number) => void): Promise<number> {
  const { header } = set;
  const fd = fs.openSync(dbPath, flags);
  let pages = 0;
  try {
    const writes = new PositionedWriter(fd);
    try {
      for await (const frame of prefetched(readSetFrames(scan, set))) {
        pages += await writePages(writes, frame, header.pageSize, header.dbSizePages);
        onFrame?.(frame.arg0, frame.arg1);
        report.onPages(pages);
      }
    } catch (error) {
      await writes.drain().catch(() => undefined); // the first failure is the one to report
      throw error;
    }
    await writes.drain();
    fs.ftruncateSync(fd, header.dbSizePages * header.pageSize);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return pages;
}

async function writePages(writes: PositionedWriter, frame: { kind: number; arg0: number; arg1: number; payload: Buffer },
  pageSize: number, dbSizePages: number): Promise<number> {
  const count = frame.arg1;
  if (frame.kind !== FrameKind.PAGES || frame.payload.length !== count * pageSize
    || frame.arg0 < 1 || frame.arg0 + count - 1 > dbSizePages) {
    throw new SqlError("BACKUP_DAMAGED", ["a page frame does not fit the database"]);
  }
  await writes.write([frame.payload], (frame.arg0 - 1) * pageSize);
  return count;
}

export interface LogRestoreResult {
  readonly control: ControlState;
  /** STOPAT was given and a transaction after it was found: the stop point was reached. */
  readonly stopReached: boolean;
  readonly pages: number;
}

/**
 * Redoes a log backup's records from the database's redo point up to the set's end (or up to
 * the last transaction committed at or before STOPAT) into the file.
 */
export async function restoreLog(scan: MediaScan, set: ScannedSet, dir: string, control: ControlState,
  stopAtMs: number | null, report: RestoreProgressReport): Promise<LogRestoreResult> {
  const progress = control.restore!;
  const fd = fs.openSync(databasePaths(dir).dbPath, "r+");
  const map = baseMap(dir, control);
  let applied = progress.redoLsn - 1;
  let stateTimeMs = progress.stateTimeMs;
  let stopReached = false;
  let pages = 0;
  try {
    outer: for await (const frame of readSetFrames(scan, set)) {
      for (const record of recordsOf(frame.payload, frame.kind)) {
        const lsn = record.header.lsn;
        if (lsn <= applied) continue;
        if (lsn >= set.trailer.lastLsn) break outer;
        if (lsn !== applied + 1) throw new SqlError("BACKUP_DAMAGED", [`log record ${lsn} follows ${applied}`]);
        const first = (record.header.flags & RecordFlags.FIRST) !== 0;
        if (stopAtMs !== null && first && record.header.commitTimeMs > stopAtMs) {
          stopReached = true;
          break outer;
        }
        redoRecord(fd, record);
        map?.notePages(lsn, record.pages.map((page) => page.pgno));
        pages += record.pages.length;
        applied = lsn;
        if ((record.header.flags & RecordFlags.LAST) !== 0) stateTimeMs = record.header.commitTimeMs;
      }
      report.onPages(pages);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  map?.persist(dir);
  // A log backup taken after a mirroring failover (or a restore) crosses into the recovery forks
  // begun since: the database now follows them, and the next log backup must continue them.
  // checkRestoreLog verified that the database's forks are a prefix of the backup's.
  const entered = set.header.forks.filter((fork) => fork.firstLsn <= applied);
  const forks = entered.length > (control.forks ?? []).length ? entered : control.forks;
  const next: ControlState = { ...control, checkpointLsn: applied, logBaseLsn: applied,
    ...(forks === undefined ? {} : { forks }),
    restore: { ...progress, redoLsn: applied + 1, stateTimeMs } };
  writeControl(dir, next);
  return { control: next, stopReached, pages };
}

/** The restoring database's changed-page map, when it belongs to the restored full backup. */
function baseMap(dir: string, control: ControlState): ChangedPageMap | null {
  const map = ChangedPageMap.load(dir);
  return map !== null && map.baseLsn === control.restore?.base.lsn ? map : null;
}

function* pageNumbers(first: number, count: number): Generator<number> {
  for (let pgno = first; pgno < first + count; pgno++) yield pgno;
}

/** The records of a LOG frame, each validated (header and body CRC) before it is used. */
function* recordsOf(payload: Buffer, kind: number) {
  if (kind !== FrameKind.LOG) throw new SqlError("BACKUP_DAMAGED", ["a log backup holds a page frame"]);
  for (let offset = 0; offset < payload.length;) {
    const header = decodeHeader(payload.subarray(offset));
    if (typeof header === "string") throw new SqlError("BACKUP_DAMAGED", [`log record: ${header}`]);
    const body = payload.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + header.bodyBytes);
    const pages = decodeBody(header, body);
    if (typeof pages === "string") throw new SqlError("BACKUP_DAMAGED", [`log record ${header.lsn}: ${pages}`]);
    yield { header, pages, segmentPath: "", offset: 0 };
    offset += RECORD_HEADER_BYTES + header.bodyBytes;
  }
}

/**
 * RESTORE … WITH RECOVERY: the database leaves RESTORING on a new recovery fork that starts at
 * its redo point; its own log starts there too (the restored records are in the file).
 */
export function recoverDatabase(dir: string, control: ControlState): ControlState {
  const progress = control.restore!;
  const forks = control.forks ?? [];
  const epoch = (forks[forks.length - 1]?.epoch ?? control.epoch) + 1;
  const model: RecoveryModel = control.recoveryModel;
  // The restored full backup stays the differential base when its changed-page map is intact;
  // everything restored is in the file, so the map covers the log up to the redo point.
  const map = baseMap(dir, control);
  if (map !== null) {
    map.coveredLsn = progress.redoLsn - 1;
    map.persist(dir);
  }
  const recovered: ControlState = {
    format: 1, epoch, checkpointLsn: progress.redoLsn - 1, recoveryModel: model,
    pageSize: control.pageSize, familyGuid: control.familyGuid!,
    forks: [...forks, { guid: randomUUID(), epoch, firstLsn: progress.redoLsn }],
    state: "ONLINE", logBaseLsn: progress.redoLsn - 1,
    logChainLsn: model === "SIMPLE" ? null : progress.redoLsn,
    logChainBegunLsn: null, differentialBase: map === null ? null : progress.base,
  };
  writeControl(dir, recovered);
  return recovered;
}
