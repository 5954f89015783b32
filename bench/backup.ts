// Full backup and restore MB/s of a large database (default 1 GiB, BENCH_BACKUP_MB), side by
// side in one run with `cp` of the same database file (the disk's own limit), and the time of a
// log backup of ~100 MB of log. Rounds interleave cp, backup and restore; medians are printed
// as a markdown table. Never part of `npm test`.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { backupDatabase, backupLog, type BackupEnvironment } from "../src/backup/backup_run.js";
import { findSet, scanMedia } from "../src/backup/media_file.js";
import { restoreFull } from "../src/backup/restore_run.js";
import { StorageEngine } from "../src/storage/engine.js";
import type { BackupCommand } from "../src/tsql/backup_statements.js";
import { median } from "./support.js";

const SIZE_MB = Number(process.env.BENCH_BACKUP_MB ?? 1024);
const LOG_MB = Number(process.env.BENCH_LOG_MB ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROW_BYTES = 16 * 1024;
const ROWS_PER_TXN = 64;

const env: BackupEnvironment = {
  serverName: "bench", userName: "sa", softwareVersion: "mirrorlite bench",
  databaseCreationDate: new Date().toISOString(), info: () => undefined, now: () => new Date(),
};

function command(target: "DATABASE" | "LOG"): BackupCommand {
  return { kind: "backup", target, database: "big", devices: [], differential: false, copyOnly: true,
    init: true, format: true, skip: false, name: null, description: null, mediaName: null,
    mediaDescription: null, checksum: false, compression: null, stats: null, noRecovery: false,
    noTruncate: false, continueAfterError: false, line: 1 };
}

async function fill(engine: StorageEngine, megabytes: number): Promise<void> {
  const db = await engine.openDatabase("big");
  const session = db.session();
  const txns = Math.ceil((megabytes * 1024 * 1024) / (ROW_BYTES * ROWS_PER_TXN));
  for (let i = 0; i < txns; i++) {
    await session.execute(`INSERT INTO t(v) SELECT randomblob(${ROW_BYTES}) FROM generate_rows LIMIT ${ROWS_PER_TXN}`);
  }
}

function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mirrorlite-bench-backup-"));
  const engine = StorageEngine.open({ dataDir: path.join(dir, "data"), readerThreads: 1 });
  try {
    const db = await engine.createDatabase("big");
    const session = db.session();
    await session.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    await session.execute("CREATE TABLE generate_rows(n INTEGER)");
    await session.execute(`INSERT INTO generate_rows WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ${ROWS_PER_TXN}) SELECT n FROM c`);
    await fill(engine, SIZE_MB);
    await db.checkpoint();
    const dbFile = path.join(engine.databaseDir("big"), "data.db");
    const megabytes = fs.statSync(dbFile).size / (1024 * 1024);
    const cp: number[] = [];
    const backup: number[] = [];
    const restore: number[] = [];
    const device = path.join(dir, "big.bak");
    for (let round = 0; round < ROUNDS; round++) {
      let start = performance.now();
      const copied = spawnSync("cp", [dbFile, path.join(dir, "copy.db")]);
      if (copied.status !== 0) throw new Error(`cp failed: ${copied.stderr}`);
      spawnSync("sync");
      cp.push(megabytes / seconds(start));
      fs.rmSync(path.join(dir, "copy.db"));

      fs.rmSync(device, { force: true });
      start = performance.now();
      await backupDatabase(db, command("DATABASE"), device, env);
      spawnSync("sync");
      backup.push(megabytes / seconds(start));

      start = performance.now();
      const scan = await scanMedia(device);
      const target = path.join(dir, `restored-${round}`);
      await restoreFull(scan, findSet(scan, 1), target, { onPages: () => undefined });
      spawnSync("sync");
      restore.push(megabytes / seconds(start));
      fs.rmSync(target, { recursive: true });
    }
    // Log backup: a chain starts, ~LOG_MB of log is written, then COPY_ONLY log backups of it.
    db.logBackedUpTo(db.log.lastLsn + 1);
    const chainStart = db.log.lastLsn + 1;
    await fill(engine, LOG_MB);
    await db.log.waitDurable(db.log.lastLsn);
    const logMb = logBytesSince(db, chainStart) / (1024 * 1024);
    const logSeconds: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now();
      await backupLog(db, command("LOG"), path.join(dir, "log.bak"), env);
      logSeconds.push(seconds(start));
    }
    print(megabytes, cp, backup, restore, logMb, logSeconds);
  } finally {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function logBytesSince(db: Awaited<ReturnType<StorageEngine["openDatabase"]>>, fromLsn: number): number {
  let bytes = 0;
  for (const segment of db.log.segmentList()) {
    if (segment.lastLsn !== null && segment.lastLsn >= fromLsn) bytes += segment.endOffset;
  }
  return bytes;
}

function print(megabytes: number, cp: number[], backup: number[], restore: number[], logMb: number,
  logSeconds: number[]): void {
  const c = median(cp);
  const row = (name: string, values: number[]): string =>
    `| ${name} | ${median(values).toFixed(0)} | ${(median(values) / c).toFixed(2)}× | ${values.map((v) => v.toFixed(0)).join(", ")} |`;
  console.log(`database file: ${megabytes.toFixed(0)} MiB, ${ROUNDS} rounds\n`);
  console.log("| operation | MiB/s (median) | vs cp | rounds |\n|---|---|---|---|");
  console.log(row("cp of the database file (+ sync)", cp));
  console.log(row("BACKUP DATABASE (full, + sync)", backup));
  console.log(row("RESTORE DATABASE (full, + sync)", restore));
  console.log(`\nBACKUP LOG of ${logMb.toFixed(0)} MiB of log: median ${median(logSeconds).toFixed(2)} s `
    + `(rounds ${logSeconds.map((v) => v.toFixed(2)).join(", ")})`);
}

await main();
