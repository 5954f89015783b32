// The rewind plan of an old principal that becomes the mirror after a failover at LSN F
// (DESIGN.md §5). Pure: it looks only at the records this partner wrote after F.
//
// After F the two partners' histories fork: records F+1… in our log were never hardened on the
// new principal, and our database file may already hold their pages (a checkpoint, or redo on
// the live file). The rewind: truncate our log to F (fsync), fetch from the new principal, at any
// snapshot of its own, every page our records after F could have changed, then redo the new
// principal's log from F (not from the snapshot). Whole page images make that redo idempotent,
// so the file is consistent again once redo passes the snapshot's LSN.
//
// "Could have changed" is more than the pages written: a transaction's LAST record sets the file
// size, so a shrink after F dropped pages we cannot rebuild from our own log. Every page past the
// smallest size our records after F set is fetched too (up to the new principal's size).
import { RecordFlags, type RecordHeader } from "../log/record.js";
import { assert } from "../util/assert.js";

export interface RewindPlan {
  /** Truncate our log to this LSN; the new principal's log is redone from the next one. */
  readonly failoverLsn: number;
  /** Pages our records after F wrote, ascending. */
  readonly pages: readonly number[];
  /** Every page from this one up to the new principal's size is fetched too; null: none. */
  readonly tailFromPgno: number | null;
}

/** The parts of a record the plan needs (a decoded log record fits). */
export interface WrittenRecord {
  readonly header: RecordHeader;
  readonly pages: readonly { readonly pgno: number }[];
}

export function rewindPlan(failoverLsn: number, recordsAfter: readonly WrittenRecord[]): RewindPlan {
  assert(Number.isSafeInteger(failoverLsn) && failoverLsn >= 0, `bad failover LSN ${failoverLsn}`);
  const pages = new Set<number>();
  let tailFromPgno: number | null = null;
  const lowerTail = (pgno: number): void => { tailFromPgno = tailFromPgno === null ? pgno : Math.min(tailFromPgno, pgno); };
  recordsAfter.forEach((record, index) => {
    const { header } = record;
    assert(header.lsn === failoverLsn + 1 + index, `record ${header.lsn} is not the next after ${failoverLsn + index}`);
    const both = RecordFlags.BASE_IMAGE | RecordFlags.FIRST;
    if ((header.flags & both) === both) lowerTail(1); // it truncated the whole file
    for (const page of record.pages) pages.add(page.pgno);
    if ((header.flags & RecordFlags.LAST) !== 0) lowerTail(header.dbSizePages + 1);
  });
  return { failoverLsn, pages: [...pages].sort((a, b) => a - b), tailFromPgno };
}

/** True when nothing after F touched the file: truncating the log is the whole rewind. */
export function rewindNeedsNoPages(plan: RewindPlan): boolean {
  return plan.pages.length === 0 && plan.tailFromPgno === null;
}

/** Page numbers to read from the new principal's snapshot, given that snapshot's size. */
export function pagesToFetch(plan: RewindPlan, principalSizePages: number): number[] {
  const wanted = new Set(plan.pages);
  if (plan.tailFromPgno !== null) {
    for (let pgno = plan.tailFromPgno; pgno <= principalSizePages; pgno++) wanted.add(pgno);
  }
  return [...wanted].sort((a, b) => a - b);
}
