// A consistent image of every page at one LSN, streamed page by page (never the whole file in
// memory): checkpoints are paused, so the database file holds the state of the checkpoint LSN
// plus, at most, pages of partial backfills that are all at or below the snapshot LSN; the newest
// version of each page changed after the checkpoint is read back from our own log instead.
import * as fs from "node:fs";
import { promisify } from "node:util";
import { pageDataOffset, readLog } from "../log/runtime/log_reader.js";
import type { LogSegment } from "../log/runtime/log_writer.js";

const read = promisify(fs.read);

interface PageSource { readonly segmentPath: string; readonly offset: number }

export class Snapshot {
  private released = false;

  private constructor(readonly lsn: number, readonly dbSizePages: number, readonly pageSize: number,
    private readonly overlay: Map<number, PageSource>, private readonly dbFd: number,
    private readonly release: () => void) {}

  static async open(segments: readonly LogSegment[], checkpointLsn: number, lsn: number,
    dbSizePages: number, pageSize: number, dbFd: number, release: () => void): Promise<Snapshot> {
    const overlay = new Map<number, PageSource>();
    try {
      for await (const record of readLog(segments, checkpointLsn + 1, lsn)) {
        record.pages.forEach((page, index) => overlay.set(page.pgno, {
          segmentPath: record.segmentPath,
          offset: pageDataOffset(record.offset, index, record.header.pageSize),
        }));
      }
    } catch (error) {
      release();
      throw error;
    }
    return new Snapshot(lsn, dbSizePages, pageSize, overlay, dbFd, release);
  }

  /** Pages 1..dbSizePages in order, one at a time; each buffer is fresh and owned by the caller. */
  async *pages(): AsyncGenerator<{ pgno: number; data: Buffer }> {
    for await (const run of this.runs(1)) yield { pgno: run.pgno, data: run.data };
  }

  /**
   * Runs of consecutive pages, each at most `maxPages` long, read with one read of the database
   * file and the log's newer versions laid over it. `pgnos` (ascending) selects pages; without
   * it every page is read. Each buffer is fresh and owned by the caller.
   */
  async *runs(maxPages: number, pgnos?: Iterable<number>): AsyncGenerator<{ pgno: number; count: number; data: Buffer }> {
    const fds = new Map<string, number>();
    try {
      for (const [first, count] of pageRuns(pgnos ?? allPages(this.dbSizePages), maxPages, this.dbSizePages)) {
        // Unzeroed: the read fills it; past the end of the file (never-written pages) is zeroed.
        const data = Buffer.allocUnsafe(count * this.pageSize);
        const { bytesRead } = await read(this.dbFd, data, 0, data.length, (first - 1) * this.pageSize);
        if (bytesRead < data.length) data.fill(0, bytesRead);
        for (let pgno = first; pgno < first + count; pgno++) {
          const source = this.overlay.get(pgno);
          if (source === undefined) continue;
          let fd = fds.get(source.segmentPath);
          if (fd === undefined) fds.set(source.segmentPath, fd = fs.openSync(source.segmentPath, "r"));
          await read(fd, data, (pgno - first) * this.pageSize, this.pageSize, source.offset);
        }
        yield { pgno: first, count, data };
      }
    } finally {
      for (const fd of fds.values()) fs.closeSync(fd);
    }
  }

  /** Lets checkpoints run again. */
  close(): void {
    if (this.released) return;
    this.released = true;
    this.release();
  }
}

function* allPages(dbSizePages: number): Generator<number> {
  for (let pgno = 1; pgno <= dbSizePages; pgno++) yield pgno;
}

/** Groups ascending page numbers (at most dbSizePages) into [first, count] runs. */
function* pageRuns(pgnos: Iterable<number>, maxPages: number, dbSizePages: number): Generator<[number, number]> {
  let first = 0;
  let count = 0;
  for (const pgno of pgnos) {
    if (pgno > dbSizePages) break;
    if (count > 0 && pgno === first + count && count < maxPages) {
      count++;
      continue;
    }
    if (count > 0) yield [first, count];
    first = pgno;
    count = 1;
  }
  if (count > 0) yield [first, count];
}
