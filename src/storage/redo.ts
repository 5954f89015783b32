// Redo of log records into a database file that SQLite does not have open (startup recovery,
// rebuilds, and later the mirror). Records carry whole page images, so redo is idempotent:
// applying a record twice, or on top of a newer checkpoint, gives the same file.
import * as fs from "node:fs";
import { RecordFlags } from "../log/record.js";
import type { LogRecord } from "../log/runtime/log_reader.js";
import { assert } from "../util/assert.js";

export function redoRecord(fd: number, record: LogRecord): void {
  const { header, pages } = record;
  if ((header.flags & RecordFlags.BASE_IMAGE) !== 0 && (header.flags & RecordFlags.FIRST) !== 0) {
    fs.ftruncateSync(fd, 0);
  }
  for (const page of pages) {
    const written = fs.writeSync(fd, page.data, 0, page.data.length, (page.pgno - 1) * header.pageSize);
    assert(written === page.data.length, `short redo write of page ${page.pgno}`);
  }
  // Commit frames carry the new size: a shrink (VACUUM, incremental_vacuum) must shrink the file.
  if ((header.flags & RecordFlags.LAST) !== 0) fs.ftruncateSync(fd, header.dbSizePages * header.pageSize);
}
