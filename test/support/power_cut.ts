// Simulates a power cut on a database directory left by a killed process in durability test
// mode: the log keeps what was fsynced plus a random torn fragment of what was not, the WAL
// (never fsynced by us) is gone, and the database file is back to its last checkpoint image.
import * as fs from "node:fs";
import * as path from "node:path";
import { SEGMENT_HEADER_BYTES, parseSegmentFileName } from "../../src/log/segment.js";
import type { Prng } from "./workload.js";

export interface PowerCut { readonly durableLsn: number; readonly tornBytes: number }

export function powerCut(dbDir: string, prng: Prng): PowerCut {
  const [segmentNo, offset, durableLsn] = fs.readFileSync(path.join(dbDir, "durable-marker"), "utf8")
    .trim().split(/\s+/).map(Number) as [number, number, number];
  const logDir = path.join(dbDir, "log");
  let tornBytes = 0;
  for (const name of fs.readdirSync(logDir)) {
    const number = parseSegmentFileName(name);
    if (number === null || number < segmentNo) continue;
    const file = path.join(logDir, name);
    const size = fs.statSync(file).size;
    let keepTo = SEGMENT_HEADER_BYTES;
    if (number === segmentNo) {
      tornBytes = prng.below(Math.min(20_000, size - offset) + 1);
      keepTo = offset + tornBytes;
    }
    const fd = fs.openSync(file, "r+");
    fs.writeSync(fd, Buffer.alloc(size - keepTo), 0, size - keepTo, keepTo);
    fs.closeSync(fd);
  }
  fs.rmSync(path.join(dbDir, "data.db-wal"), { force: true });
  fs.rmSync(path.join(dbDir, "data.db-shm"), { force: true });
  fs.copyFileSync(path.join(dbDir, "checkpoint-image"), path.join(dbDir, "data.db"));
  return { durableLsn, tornBytes };
}
