// Redo of log records into a database file that SQLite does not have open (startup recovery,
// rebuilds, and later the mirror). Records carry whole page images, so redo is idempotent:
// applying a record twice, or on top of a newer checkpoint, gives the same file.
import * as fs from "node:fs";
import { RecordFlags } from "../log/record.js";
import type { LogRecord } from "../log/runtime/log_reader.js";
import { assert } from "../util/assert.js";

/**
 * The file's size as redo last left it, for a caller that redoes record after record into the
 * same file (the mirror): a commit that keeps the size then costs no ftruncate.
 */
export interface RedoFileSize { bytes: number }

export function redoRecord(fd: number, record: LogRecord, size?: RedoFileSize): void {
  const { header, pages } = record;
  if ((header.flags & RecordFlags.BASE_IMAGE) !== 0 && (header.flags & RecordFlags.FIRST) !== 0) {
    fs.ftruncateSync(fd, 0);
    if (size !== undefined) size.bytes = 0;
  }
  for (const page of pages) {
    const offset = (page.pgno - 1) * header.pageSize;
    const written = fs.writeSync(fd, page.data, 0, page.data.length, offset);
    assert(written === page.data.length, `short redo write of page ${page.pgno}`);
    if (size !== undefined) size.bytes = Math.max(size.bytes, offset + written);
  }
  // Commit frames carry the new size: a shrink (VACUUM, incremental_vacuum) must shrink the file.
  if ((header.flags & RecordFlags.LAST) === 0) return;
  const bytes = header.dbSizePages * header.pageSize;
  if (size !== undefined && size.bytes === bytes) return;
  fs.ftruncateSync(fd, bytes);
  if (size !== undefined) size.bytes = bytes;
}
