// Goal: real SQL Server clients (tedious, FreeTDS tsql, `mirrorlite sql`) log in to a real
// `mirrorlite start` process, create a database and a table with T-SQL types, insert N'…'
// literals, read typed rows and TOP n, and get SQL Server-numbered errors.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { close, connect, MAIN, query, SA_PASSWORD, startServer, type Server } from "./support/server.js";
import { tempDir } from "./support/temp.js";

const temp = tempDir("clients");
let server: Server;

before(async () => { server = await startServer(path.join(temp.dir, "data")); });
after(async () => {
  const code = await server.stop();
  temp.remove();
  assert.equal(code, 0, "SIGTERM shuts the instance down cleanly");
});

test("tedious: database, T-SQL types, N'' literals, typed rows, TOP, errors", async () => {
  const master = await connect(server.port);
  const info = await query(master, "SELECT @@VERSION, @@SERVERNAME AS server, DB_NAME() AS db, DB_ID() AS id, @@SPID AS spid");
  const row = info.rows[0]![0]!;
  assert.match(String(row[""]), /mirrorlite/);
  assert.deepEqual([row.server, row.db, row.id], ["MLTEST", "master", 1]);
  assert.ok(Number(row.spid) >= 51);
  await query(master, "CREATE DATABASE shop");
  await close(master);

  const c = await connect(server.port, "shop");
  await query(c, `CREATE TABLE dbo.customers (id INT IDENTITY(1,1) PRIMARY KEY, name NVARCHAR(MAX) NOT NULL,
    city NVARCHAR(40), balance FLOAT, photo VARBINARY(MAX), visits BIGINT)`);
  const names = ["Zoë", "Ørjan", "李雷", "O'Brien", "Ann"];
  for (const [i, name] of names.entries()) {
    const inserted = await query(c, `INSERT INTO customers (name, city, balance, photo, visits)
      VALUES (N'${name.replace(/'/g, "''")}', ${i === 2 ? "NULL" : "N'Oslo'"}, ${i + 0.5}, 0x0102ff, ${2 ** 40 + i})`);
    assert.equal(inserted.rowCount, 1);
  }
  const all = await query(c, "SELECT id, name, city, balance, photo, visits FROM customers ORDER BY id");
  assert.deepEqual(all.columns[0]!.map((col) => col.type), ["IntN", "NVarChar", "NVarChar", "FloatN", "VarBinary", "IntN"]);
  const rows = all.rows[0]!;
  assert.deepEqual(rows.map((r) => r.id), [1, 2, 3, 4, 5]);
  assert.deepEqual(rows.map((r) => r.name), names);
  assert.equal(rows[2]!.city, null);
  assert.equal(rows[1]!.balance, 1.5);
  assert.deepEqual(rows[0]!.photo, Buffer.from([1, 2, 0xff]));
  assert.equal(String(rows[4]!.visits), String(2 ** 40 + 4));
  const top = await query(c, "SELECT TOP 3 name FROM [dbo].[customers] ORDER BY id DESC");
  assert.deepEqual(top.rows[0]!.map((r) => r.name), ["Ann", "O'Brien", "李雷"]);
  const identity = await query(c, "INSERT INTO customers (name) VALUES (N'Last'); SELECT SCOPE_IDENTITY() AS id");
  assert.equal(Number(identity.rows[0]![0]!.id), 6);

  // Multi-packet responses: a 200 KB NVARCHAR(MAX) value and 20,000 rows, streamed in flushes.
  await query(c, `INSERT INTO customers (name) VALUES (N'${"ü".repeat(100_000)}')`);
  const big = await query(c, "SELECT name FROM customers WHERE id = 7");
  assert.equal(big.rows[0]![0]!.name, "ü".repeat(100_000));
  const many = await query(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT i, 'row ' || i AS label FROM n");
  assert.equal(many.rows[0]!.length, 20_000);
  assert.deepEqual(many.rows[0]![19_999], { i: 20_000, label: "row 20000" });
  await assert.rejects(query(c, "SELECT * FROM no_such_table"), (error: Error & { number?: number; class?: number }) =>
    error.number === 208 && error.class === 16 && /Invalid object name 'no_such_table'/.test(error.message));
  await assert.rejects(query(c, "SELECT * FROM"), { number: 102 });
  await assert.rejects(query(c, "SELECT 'unclosed"), { number: 105 });
  await assert.rejects(query(c, "USE nowhere"), { number: 911 });
  const databases = await query(c, "SELECT name, database_id, state_desc, recovery_model_desc, log_reuse_wait_desc FROM sys.databases ORDER BY database_id");
  assert.deepEqual(databases.rows[0]!.map((r) => [r.name, r.state_desc, r.recovery_model_desc]),
    [["master", "ONLINE", "SIMPLE"], ["shop", "ONLINE", "FULL"]]);
  assert.ok(["NOTHING", "LOG_BACKUP"].includes(String(databases.rows[0]![1]!.log_reuse_wait_desc)));
  await query(c, "ALTER DATABASE shop SET RECOVERY SIMPLE");
  const simple = await query(c, "SELECT recovery_model_desc FROM sys.databases WHERE name = 'shop'");
  assert.equal(simple.rows[0]![0]!.recovery_model_desc, "SIMPLE");
  await close(c);
});

test("tedious: transactions roll back and commit; wrong password is 18456", async () => {
  const c = await connect(server.port);
  await query(c, "CREATE DATABASE txn");
  await query(c, "USE txn; CREATE TABLE t (id INT PRIMARY KEY, v NVARCHAR(10))");
  await query(c, "BEGIN TRAN; INSERT INTO t VALUES (1, N'gone'); ROLLBACK TRAN");
  await query(c, "BEGIN TRANSACTION; INSERT INTO t VALUES (2, N'kept'); COMMIT");
  const rows = await query(c, "SELECT id, v FROM t; SELECT @@TRANCOUNT AS n");
  assert.deepEqual(rows.rows[0], [{ id: 2, v: "kept" }]);
  assert.equal(rows.rows[1]![0]!.n, 0);
  await assert.rejects(query(c, "COMMIT"), { number: 3902 });
  // SET LOCK_TIMEOUT: a writer blocked by another session's open transaction gets 1222.
  const holder = await connect(server.port, "txn");
  await query(holder, "BEGIN TRAN; INSERT INTO t VALUES (3, N'held')");
  await assert.rejects(query(c, "SET LOCK_TIMEOUT 300; INSERT INTO t VALUES (4, N'blocked')"), { number: 1222 });
  await query(holder, "ROLLBACK");
  await query(c, "INSERT INTO t VALUES (4, N'free'); SET LOCK_TIMEOUT -1");
  await close(holder);
  await assert.rejects(query(c, "DROP DATABASE txn"), { number: 3702 });
  await query(c, "USE master; DROP DATABASE txn");
  await assert.rejects(query(c, "USE txn"), { number: 911 });
  await close(c);
  await assert.rejects(connect(server.port, undefined, "Wrong-passw0rd"),
    (error: Error & { code?: string }) => error.code === "ELOGIN" && /Login failed for user 'sa'/.test(error.message));
  await assert.rejects(connect(server.port, "nowhere"), (error: Error & { code?: string }) => error.code === "ELOGIN");
});

test("FreeTDS tsql: the same session from a C client", () => {
  const script = [
    "CREATE DATABASE freetds", "go",
    "USE freetds", "go",
    "CREATE TABLE notes (id INT IDENTITY(1,1) PRIMARY KEY, body NVARCHAR(MAX), n BIGINT)", "go",
    "INSERT INTO notes (body, n) VALUES (N'first', 10)", "go",
    "INSERT INTO notes (body, n) VALUES (N'zweite Ä', 20)", "go",
    "INSERT INTO notes (body, n) VALUES (N'third', NULL)", "go",
    "INSERT INTO notes (body, n) VALUES (N'fourth', 40)", "go",
    "SELECT TOP 3 id, body, n FROM notes ORDER BY id", "go",
    "SELECT * FROM missing_table", "go",
  ].join("\n");
  const run = spawnSync("tsql", ["-H", "127.0.0.1", "-p", String(server.port), "-U", "sa", "-P", SA_PASSWORD, "-o", "fhq"],
    { input: `${script}\n`, encoding: "utf8", env: { ...process.env, TDSVER: "7.4", LANG: "C.UTF-8" }, timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  assert.deepEqual(lines.filter((line) => /^\d+\t/.test(line)), ["1\tfirst\t10", "2\tzweite Ä\t20", "3\tthird\tNULL"]);
  assert.match(run.stderr, /Msg 208 \(severity 16, state 1\)[\s\S]*Invalid object name 'missing_table'/);
  const bad = spawnSync("tsql", ["-H", "127.0.0.1", "-p", String(server.port), "-U", "sa", "-P", "nope-Nope-1"],
    { input: "select 1\ngo\n", encoding: "utf8", env: { ...process.env, TDSVER: "7.4" }, timeout: 30_000 });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /18456|Login failed/);
});

test("mirrorlite sql: GO batches, tables, -b exit codes, -i files", () => {
  const sql = (...args: string[]) => spawnSync(process.execPath,
    [MAIN, "sql", "-S", `127.0.0.1,${server.port}`, "-U", "sa", "-P", SA_PASSWORD, ...args], { encoding: "utf8", timeout: 30_000 });
  const created = sql("-Q", "CREATE DATABASE cli\nGO\nUSE cli\nCREATE TABLE t (a INT, b NVARCHAR(20))\nINSERT INTO t VALUES (1, N'one')\nINSERT INTO t VALUES (22, N'twenty-two')\nGO\nSELECT a, b FROM t ORDER BY a");
  assert.equal(created.status, 0, created.stdout + created.stderr);
  // sqlcmd's layout: columns as wide as their types (int 11, nvarchar(20) 20), numbers right-aligned.
  assert.match(created.stdout, /a {11}b {19}\n-{11} -{20}\n {10}1 one {17}\n {9}22 twenty-two {10}\n\n\(2 rows affected\)/);
  const file = path.join(temp.dir, "script.sql");
  fs.writeFileSync(file, "SELECT 1 AS x\nGO\nSELECT * FROM nowhere\nGO\nSELECT 2 AS y\nGO\n");
  const soft = sql("-d", "cli", "-i", file);
  assert.equal(soft.status, 0);
  assert.match(soft.stdout, /Msg 208, Level 16, State 1, Server MLTEST, Line 1\nInvalid object name 'nowhere'\./);
  assert.match(soft.stdout, /\ny {10}\n-{11}\n {10}2\n/);
  const strict = sql("-d", "cli", "-i", file, "-b");
  assert.equal(strict.status, 1);
  assert.doesNotMatch(strict.stdout, /\ny\s*\n/, "-b stops at the failing batch");
  const badLogin = spawnSync(process.execPath, [MAIN, "sql", "-S", `127.0.0.1,${server.port}`, "-U", "sa", "-P", "x", "-Q", "SELECT 1"], { encoding: "utf8" });
  assert.equal(badLogin.status, 1);
  assert.match(badLogin.stdout, /Login failed for user 'sa'/);
});

test("first start refuses a missing or weak sa password, and leaves the directory uninitialised", () => {
  const dir = path.join(temp.dir, "refused");
  const env = { ...process.env };
  delete env.MSSQL_SA_PASSWORD;
  const start = (extra: string[]) => spawnSync(process.execPath, [MAIN, "start", "--data", dir, "--port", "0", ...extra],
    { encoding: "utf8", env, timeout: 30_000 });
  const missing = start([]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /needs the sa password: set MSSQL_SA_PASSWORD or pass --sa-password/);
  const weak = start(["--sa-password", "password"]);
  assert.equal(weak.status, 1);
  assert.match(weak.stderr, /not complex enough/);
  assert.equal(fs.existsSync(path.join(dir, "catalog.json")), false);
});
