// Goal: a differential backup reads only the pages changed since its base, from a changed-page
// map that survives log truncation and a restart; full + differential restored equals the
// database file, byte for byte. And the log chain: no log is kept for backups before the first
// full backup, LOG_BACKUP holds it afterwards until a log backup.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { backupDatabase, backupLog, type BackupEnvironment } from "../src/backup/backup_run.js";
import { findSet, scanMedia } from "../src/backup/media_file.js";
import { restoreDifferential, restoreFull } from "../src/backup/restore_run.js";
import { StorageEngine } from "../src/storage/engine.js";
import type { BackupCommand } from "../src/tsql/backup_statements.js";
import { tempDir } from "./support/temp.js";

const env: BackupEnvironment = {
  serverName: "test", userName: "sa", softwareVersion: "test", databaseCreationDate: new Date().toISOString(),
  info: () => undefined, now: () => new Date(),
};

function command(target: "DATABASE" | "LOG", options: Partial<BackupCommand> = {}): BackupCommand {
  return { kind: "backup", target, database: "db", devices: [], differential: false, copyOnly: false,
    init: false, format: true, skip: false, name: null, description: null, mediaName: null,
    mediaDescription: null, checksum: false, compression: null, stats: null, noRecovery: false,
    noTruncate: false, continueAfterError: false, line: 1, ...options };
}

test("differential: the changed-page map outlives log truncation and a restart", async () => {
  const temp = tempDir("backup-storage");
  const options = { dataDir: path.join(temp.dir, "data"), segmentBytes: 9 * 1024 * 1024,
    onFatal: (error: Error) => { throw error; } };
  let engine = StorageEngine.open(options);
  try {
    let db = await engine.createDatabase("db");
    const session = db.session();
    await session.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
    for (let i = 0; i < 400; i++) await session.execute("INSERT INTO t(v) VALUES (randomblob(3000))");
    await db.checkpoint();
    assert.equal(db.logReuseWaitDesc, "NOTHING", "no chain yet: nothing kept for log backups");

    await backupDatabase(db, command("DATABASE"), path.join(temp.dir, "full.bak"), env);
    assert.ok(db.logChainLsn !== null, "the full backup started the log chain");
    // Change a few scattered rows, then push enough log to need truncation.
    for (const id of [3, 150, 390]) await session.execute(`UPDATE t SET v = randomblob(3000) WHERE id = ${id}`);
    await session.execute("CREATE TABLE churn(v BLOB)");
    for (let i = 0; i < 40; i++) {
      await session.execute("INSERT INTO churn VALUES (randomblob(200000))");
      await session.execute("DELETE FROM churn");
    }
    await db.checkpoint();
    assert.equal(db.logReuseWaitDesc, "LOG_BACKUP");
    await backupLog(db, command("LOG"), path.join(temp.dir, "log.bak"), env);
    await db.checkpoint();
    assert.equal(db.logReuseWaitDesc, "NOTHING", "the log backup let the log be truncated");
    await engine.close();

    engine = StorageEngine.open(options);
    db = await engine.openDatabase("db");
    await db.session().execute("UPDATE t SET v = x'01' WHERE id = 200");
    await backupDatabase(db, command("DATABASE", { differential: true }), path.join(temp.dir, "diff.bak"), env);
    const full = await scanMedia(path.join(temp.dir, "full.bak"));
    const diff = await scanMedia(path.join(temp.dir, "diff.bak"));
    const diffSet = findSet(diff, 1);
    assert.ok(diffSet.trailer.pageCount < findSet(full, 1).trailer.pageCount / 4,
      `the differential holds ${diffSet.trailer.pageCount} of ${findSet(full, 1).trailer.pageCount} pages`);

    const target = path.join(temp.dir, "restored");
    const control = await restoreFull(full, findSet(full, 1), target, { onPages: () => undefined });
    await restoreDifferential(diff, diffSet, target, control, { onPages: () => undefined });
    const current = await db.readCheckpointedFile();
    assert.ok(current !== null);
    assert.equal(current.lsn, diffSet.header.firstLsn);
    assert.ok(fs.readFileSync(path.join(target, "data.db")).equals(current.image),
      "full + differential is the database file");
  } finally {
    await engine.close();
    temp.remove();
  }
});
