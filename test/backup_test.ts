// Goal: BACKUP and RESTORE as the mirroring seed procedure uses them. Instance A takes a full,
// a differential and three log backups while a writer keeps committing; instance B restores
// the chain WITH NORECOVERY (with and without the differential) and recovers, and ends with the
// same rows and a database file byte-identical to a COPY_ONLY backup of A taken right after
// the last log backup. Wrong chains get SQL Server's errors and leave the database as it was;
// damaged and cut media are found; STOPAT stops between transactions.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Connection } from "tedious";
import { close, connect, errorNumbers, queryExplained as query, startServer, type Server } from "./support/server.js";
import { tempDir } from "./support/temp.js";

const temp = tempDir("backup");
const bak = (name: string): string => path.join(temp.dir, name);
let a: Server;
let b: Server;

before(async () => {
  [a, b] = await Promise.all([startServer(path.join(temp.dir, "a")), startServer(path.join(temp.dir, "b"))]);
});
after(async () => {
  assert.equal(await a.stop(), 0);
  if (b.child.exitCode === null) assert.equal(await b.stop(), 0);
  temp.remove();
});

async function rows(c: Connection, sql: string): Promise<Record<string, unknown>[]> {
  return (await query(c, sql)).rows[0] ?? [];
}

/** A writer committing single-row inserts until stopped; resolves with the ids it committed. */
function startWriter(port: number): { pause: () => Promise<number> } {
  let running = true;
  const done = (async () => {
    const c = await connect(port, "shop");
    let n = 0;
    while (running) {
      await query(c, `INSERT INTO t (v, filler) VALUES (N'row ${n}', randomblob(${200 + (n % 7) * 900}))`);
      if (n % 50 === 0) await query(c, `UPDATE t SET v = v + N'!' WHERE id % 13 = ${n % 13}`);
      n++;
    }
    await close(c);
    return n;
  })();
  return { pause: async () => { running = false; return done; } };
}

test("full + differential + log chain under write load restores byte-identical, with and without the differential", async () => {
  const ca = await connect(a.port);
  await query(ca, "CREATE DATABASE shop; USE shop; CREATE TABLE t (id INTEGER PRIMARY KEY, v NVARCHAR(200), filler VARBINARY(MAX))");
  const writer = startWriter(a.port);
  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  await pause(300);
  await query(ca, `BACKUP DATABASE shop TO DISK = '${bak("full.bak")}' WITH FORMAT, NAME = N'shop full', CHECKSUM`);
  await pause(300);
  const messages: string[] = [];
  const onInfo = (info: { message: string }): void => { messages.push(info.message); };
  ca.on("infoMessage", onInfo);
  await query(ca, `BACKUP DATABASE shop TO DISK = '${bak("diff.bak")}' WITH DIFFERENTIAL, INIT, STATS = 25`);
  ca.off("infoMessage", onInfo);
  assert.deepEqual(messages.filter((text) => text.endsWith("percent processed.")),
    ["25 percent processed.", "50 percent processed.", "75 percent processed.", "100 percent processed."]);
  assert.match(messages.at(-1)!, /^BACKUP DATABASE successfully processed \d+ pages in \d+\.\d{3} seconds \(\d+\.\d{3} MB\/sec\)\.$/);
  for (let i = 0; i < 2; i++) {
    await pause(250);
    await query(ca, `BACKUP LOG shop TO DISK = '${bak("log.bak")}'`);
  }
  await pause(250);
  const committed = await writer.pause();
  assert.ok(committed > 20, `the writer committed ${committed} transactions during the backups`);
  await query(ca, `BACKUP LOG shop TO DISK = '${bak("log.bak")}' WITH COMPRESSION`);
  await query(ca, `BACKUP DATABASE shop TO DISK = '${bak("copy.bak")}' WITH COPY_ONLY, FORMAT`);
  const expected = await rows(ca, "USE shop; SELECT id, v, filler FROM t ORDER BY id; USE master");

  const header = await rows(ca, `RESTORE HEADERONLY FROM DISK = '${bak("log.bak")}'`);
  assert.deepEqual(header.map((row) => [row.Position, row.BackupType, row.DatabaseName]),
    [[1, 2, "shop"], [2, 2, "shop"], [3, 2, "shop"]]);
  assert.equal(Number(header[0]!.LastLSN), Number(header[1]!.FirstLSN), "log backups continue each other");
  assert.equal(Number(header[1]!.LastLSN), Number(header[2]!.FirstLSN));
  assert.deepEqual(header.map((row) => [row.BeginsLogChain, row.Compressed]), [[true, false], [false, false], [false, true]]);
  const full = (await rows(ca, `RESTORE HEADERONLY FROM DISK = '${bak("full.bak")}'`))[0]!;
  assert.deepEqual([full.BackupName, full.BackupTypeDescription, full.HasBackupChecksums, full.IsCopyOnly],
    ["shop full", "DATABASE", true, false]);
  assert.equal(Number(header[0]!.FirstLSN), Number(full.LastLSN), "the first log backup starts where the full ends");
  const copy = (await rows(ca, `RESTORE HEADERONLY FROM DISK = '${bak("copy.bak")}'`))[0]!;
  assert.equal(copy.IsCopyOnly, true);
  const files = await rows(ca, `RESTORE FILELISTONLY FROM DISK = '${bak("full.bak")}'`);
  assert.deepEqual(files.map((row) => [row.LogicalName, row.Type]), [["shop", "D"], ["shop_log", "L"]]);
  const history = await rows(ca, "SELECT type, is_copy_only, position FROM msdb.dbo.backupset ORDER BY backup_set_id");
  assert.deepEqual(history.map((row) => row.type), ["D", "I", "L", "L", "L", "D"]);
  const family = await rows(ca, "SELECT physical_device_name FROM msdb.dbo.backupmediafamily");
  assert.ok(family.some((row) => row.physical_device_name === bak("log.bak")));
  await close(ca);

  const cb = await connect(b.port);
  await query(cb, `RESTORE DATABASE shop FROM DISK = '${bak("full.bak")}' WITH NORECOVERY`);
  assert.deepEqual(await errorNumbers(query(cb, "USE shop")), [927]);
  const state = await rows(cb, "SELECT state_desc FROM sys.databases WHERE name = 'shop'");
  assert.deepEqual(state, [{ state_desc: "RESTORING" }]);
  await query(cb, `RESTORE DATABASE shop FROM DISK = '${bak("diff.bak")}' WITH NORECOVERY`);
  for (const file of [1, 2, 3]) {
    await query(cb, `RESTORE LOG shop FROM DISK = '${bak("log.bak")}' WITH FILE = ${file}, NORECOVERY`);
  }
  await query(cb, "RESTORE DATABASE shop WITH RECOVERY");
  assert.deepEqual(await rows(cb, "USE shop; SELECT id, v, filler FROM t ORDER BY id; USE master"), expected);

  await query(cb, `RESTORE DATABASE nodiff FROM DISK = '${bak("full.bak")}' WITH NORECOVERY`);
  for (const file of [1, 2, 3]) {
    await query(cb, `RESTORE LOG nodiff FROM DISK = '${bak("log.bak")}' WITH FILE = ${file}, NORECOVERY`);
  }
  await query(cb, "RESTORE DATABASE nodiff WITH RECOVERY");
  await query(cb, `RESTORE DATABASE copied FROM DISK = '${bak("copy.bak")}' WITH RECOVERY`);
  assert.deepEqual(await rows(cb, "USE nodiff; SELECT id, v, filler FROM t ORDER BY id; USE master"), expected);
  await close(cb);

  assert.equal(await b.stop(), 0);
  const file = (name: string): Buffer => fs.readFileSync(path.join(temp.dir, "b", "databases", name, "data.db"));
  assert.ok(file("copied").equals(file("shop")), "full + differential + logs is byte-identical to the COPY_ONLY backup");
  assert.ok(file("copied").equals(file("nodiff")), "full + logs is byte-identical too");
  b = await startServer(path.join(temp.dir, "b"));
  const again = await connect(b.port, "shop");
  assert.equal((await rows(again, "SELECT count(*) AS n FROM t"))[0]!.n, expected.length);
  // The restored full backup stays the differential base, as in SQL Server: a differential
  // taken on B applies on top of A's full backup.
  await query(again, "INSERT INTO t (v) VALUES (N'on B'); UPDATE t SET v = N'changed on B' WHERE id = 1");
  await query(again, `USE master; BACKUP DATABASE shop TO DISK = '${bak("b-diff.bak")}' WITH DIFFERENTIAL, FORMAT`);
  await query(again, `RESTORE DATABASE crossdiff FROM DISK = '${bak("full.bak")}' WITH NORECOVERY`);
  await query(again, `RESTORE DATABASE crossdiff FROM DISK = '${bak("b-diff.bak")}' WITH RECOVERY`);
  assert.deepEqual(await rows(again, "USE crossdiff; SELECT id, v, filler FROM t ORDER BY id; USE master"),
    await rows(again, "USE shop; SELECT id, v, filler FROM t ORDER BY id; USE master"));
  await close(again);
});

test("log backups out of order, skipped or after RECOVERY get SQL Server's errors and change nothing", async () => {
  const c = await connect(b.port);
  await query(c, `RESTORE DATABASE errs FROM DISK = '${bak("full.bak")}' WITH NORECOVERY`);
  const log = (file: number, extra = ""): Promise<number[]> =>
    errorNumbers(query(c, `RESTORE LOG errs FROM DISK = '${bak("log.bak")}' WITH FILE = ${file}, NORECOVERY${extra}`));
  assert.deepEqual(await log(2), [4305, 3013], "skipping log 1");
  assert.deepEqual(await log(1), []);
  assert.deepEqual(await log(1), [4326, 3013], "log 1 again");
  assert.deepEqual(await log(3), [4305, 3013], "skipping log 2");
  assert.deepEqual(await errorNumbers(query(c, `RESTORE DATABASE errs FROM DISK = '${bak("diff.bak")}' WITH NORECOVERY`)),
    [3136, 3013], "a differential older than the database");
  assert.deepEqual(await log(2), []);
  assert.deepEqual(await log(3), []);
  await query(c, "RESTORE DATABASE errs WITH RECOVERY");
  assert.deepEqual(await log(3), [3117, 3013], "after RECOVERY");
  assert.deepEqual(await errorNumbers(query(c, "RESTORE DATABASE errs WITH RECOVERY")), [3153, 3013]);
  const restored = await rows(c, "USE errs; SELECT count(*) AS n FROM t; USE master");
  const onA = await connect(a.port);
  const shop = await rows(onA, "USE shop; SELECT count(*) AS n FROM t; USE master");
  await close(onA);
  assert.deepEqual(restored, shop, "the errors left the chain intact");

  // Restoring over an online database: another database's backup (3154), a FULL database whose
  // log has not been backed up (3159); REPLACE overrides both.
  await query(c, "CREATE DATABASE other; USE other; CREATE TABLE x (a INT)");
  await query(c, `USE master; BACKUP DATABASE other TO DISK = '${bak("other.bak")}' WITH FORMAT`);
  assert.deepEqual(await errorNumbers(query(c, `RESTORE DATABASE errs FROM DISK = '${bak("other.bak")}'`)), [3154, 3013]);
  await query(c, "USE other; INSERT INTO x VALUES (1); USE master");
  assert.deepEqual(await errorNumbers(query(c, `RESTORE DATABASE other FROM DISK = '${bak("other.bak")}'`)), [3159, 3013]);
  assert.deepEqual(await errorNumbers(query(c, "USE other; RESTORE DATABASE other FROM DISK = 'x.bak' WITH REPLACE")), [3102, 3013]);
  await query(c, `USE master; RESTORE DATABASE other FROM DISK = '${bak("other.bak")}' WITH REPLACE`);
  assert.deepEqual(await rows(c, "USE other; SELECT count(*) AS n FROM x; USE master"), [{ n: 0 }]);

  // Backup-side errors.
  await query(c, "CREATE DATABASE simple; ALTER DATABASE simple SET RECOVERY SIMPLE; CREATE DATABASE fresh");
  assert.deepEqual(await errorNumbers(query(c, `BACKUP LOG simple TO DISK = '${bak("x.bak")}'`)), [4208, 3013]);
  assert.deepEqual(await errorNumbers(query(c, `BACKUP LOG fresh TO DISK = '${bak("x.bak")}'`)), [4214, 3013]);
  assert.deepEqual(await errorNumbers(query(c, `BACKUP DATABASE fresh TO DISK = '${bak("x.bak")}' WITH DIFFERENTIAL`)), [3035, 3013]);
  assert.deepEqual(await errorNumbers(query(c, `BEGIN TRAN; BACKUP DATABASE fresh TO DISK = '${bak("x.bak")}'`)), [3021]);
  await query(c, "IF @@TRANCOUNT > 0 ROLLBACK").catch(() => query(c, "ROLLBACK"));
  assert.deepEqual(await errorNumbers(query(c, `BACKUP DATABASE fresh TO DISK = '${bak("missing/dir/x.bak")}'`)), [3201, 3013]);
  await query(c, `BACKUP DATABASE fresh TO DISK = '${bak("named.bak")}' WITH FORMAT, MEDIANAME = 'weekly'`);
  assert.deepEqual(await errorNumbers(query(c, `BACKUP DATABASE fresh TO DISK = '${bak("named.bak")}' WITH MEDIANAME = 'daily'`)), [4037, 3013]);
  await query(c, `BACKUP DATABASE fresh TO DISK = '${bak("named.bak")}' WITH MEDIANAME = 'weekly'`);
  const label = (await query(c, `RESTORE LABELONLY FROM DISK = '${bak("named.bak")}'`)).rows[0]![0]!;
  assert.equal(label.MediaName, "weekly");
  assert.deepEqual(await errorNumbers(query(c, `RESTORE HEADERONLY FROM DISK = '${bak("nothing.bak")}'`)), [3201, 3013]);
  assert.deepEqual(await errorNumbers(query(c, `RESTORE DATABASE master FROM DISK = '${bak("full.bak")}' WITH REPLACE`)), [3108, 3013]);
  await close(c);
});

test("VERIFYONLY finds a flipped byte and a cut file; RESTORE refuses both", async () => {
  const c = await connect(b.port);
  const source = fs.readFileSync(bak("full.bak"));
  assert.deepEqual(await errorNumbers(query(c, `RESTORE VERIFYONLY FROM DISK = '${bak("full.bak")}' WITH CHECKSUM`)), []);
  const flipped = Buffer.from(source);
  flipped[Math.floor(flipped.length / 2)]! ^= 0x10;
  fs.writeFileSync(bak("flipped.bak"), flipped);
  fs.writeFileSync(bak("cut.bak"), source.subarray(0, Math.floor(source.length * 0.7)));
  assert.deepEqual(await errorNumbers(query(c, `RESTORE VERIFYONLY FROM DISK = '${bak("flipped.bak")}'`)), [3189, 3013]);
  assert.deepEqual(await errorNumbers(query(c, `RESTORE VERIFYONLY FROM DISK = '${bak("cut.bak")}'`)), [3203, 3013]);
  for (const name of ["flipped.bak", "cut.bak"]) {
    const numbers = await errorNumbers(query(c, `RESTORE DATABASE damaged FROM DISK = '${bak(name)}' WITH CHECKSUM, NORECOVERY`));
    assert.equal(numbers[1], 3013, name);
    assert.ok([3189, 3203].includes(numbers[0]!), `${name}: ${numbers.join(",")}`);
  }
  assert.deepEqual(await rows(c, "SELECT name FROM sys.databases WHERE name = 'damaged'"), [], "nothing was left behind");
  fs.writeFileSync(bak("garbage.bak"), Buffer.from("this is not a backup at all, just text"));
  assert.deepEqual(await errorNumbers(query(c, `RESTORE HEADERONLY FROM DISK = '${bak("garbage.bak")}'`)), [3241, 3013]);
  await close(c);
});

test("STOPAT restores to a point between two log backups' transactions", async () => {
  const c = await connect(b.port);
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const stamp = (): string => {
    const d = new Date();
    const p = (n: number, w = 2): string => String(n).padStart(w, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  };
  await query(c, "CREATE DATABASE pit; USE pit; CREATE TABLE t (id INT)");
  await query(c, `USE master; BACKUP DATABASE pit TO DISK = '${bak("pit.bak")}' WITH FORMAT`);
  await query(c, "USE pit; INSERT INTO t VALUES (1); USE master");
  await query(c, "USE pit; INSERT INTO t VALUES (2); USE master");
  await query(c, `BACKUP LOG pit TO DISK = '${bak("pit.bak")}'`);
  await query(c, "USE pit; INSERT INTO t VALUES (3); USE master");
  await sleep(40);
  const between = stamp();
  await sleep(40);
  await query(c, "USE pit; INSERT INTO t VALUES (4); USE master");
  await query(c, `BACKUP LOG pit TO DISK = '${bak("pit.bak")}'`);

  await query(c, `RESTORE DATABASE pit2 FROM DISK = '${bak("pit.bak")}' WITH FILE = 1, NORECOVERY`);
  // The first log backup ends before the point: it is applied whole and the database stays RESTORING.
  const first = await query(c, `RESTORE LOG pit2 FROM DISK = '${bak("pit.bak")}' WITH FILE = 2, RECOVERY, STOPAT = '${between}'`);
  assert.ok(first !== undefined);
  assert.deepEqual(await rows(c, "SELECT state_desc FROM sys.databases WHERE name = 'pit2'"), [{ state_desc: "RESTORING" }]);
  await query(c, `RESTORE LOG pit2 FROM DISK = '${bak("pit.bak")}' WITH FILE = 3, RECOVERY, STOPAT = '${between}'`);
  assert.deepEqual(await rows(c, "USE pit2; SELECT id FROM t ORDER BY id; USE master"), [{ id: 1 }, { id: 2 }, { id: 3 }]);
  await close(c);
});
