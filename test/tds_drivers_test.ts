// Goal: the drivers people use work unchanged. tedious and mssql: parameterised queries with
// every common type round-tripping exactly (NULL, empty, max-length, > 8000 bytes), prepared
// statements, transactions through the API, errors inside a transaction, PRINT / RAISERROR,
// several result sets, a pool of 20 connections. FreeTDS tsql and bsqldb, ODBC isql through
// tdsodbc and python3-pymssql: connect, run batches, read typed rows, get numbered errors.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import mssql from "mssql";
import { Request, TYPES, type Connection } from "tedious";
import { close, connect, query, SA_PASSWORD, startServer, type Server } from "./support/server.js";
import { tempDir } from "./support/temp.js";

const temp = tempDir("drivers");
let server: Server;

before(async () => {
  server = await startServer(path.join(temp.dir, "data"));
  const c = await connect(server.port);
  await query(c, "CREATE DATABASE drivers");
  await query(c, `USE drivers; CREATE TABLE types (id INT PRIMARY KEY, i INT, bi BIGINT, b BIT,
    d DECIMAL(18, 4), n NUMERIC(10, 2), f FLOAT, r REAL, nv NVARCHAR(100), nvm NVARCHAR(MAX),
    v VARCHAR(50), vb VARBINARY(100), vbm VARBINARY(MAX), dt DATE, dt2 DATETIME2, g UNIQUEIDENTIFIER)`);
  await close(c);
});
after(async () => {
  const code = await server.stop();
  temp.remove();
  assert.equal(code, 0);
});

interface Typed { name: string; type: unknown; value: unknown; options?: Record<string, number> }

const COLUMNS: [string, unknown, Record<string, number>?][] = [
  ["i", TYPES.Int], ["bi", TYPES.BigInt], ["b", TYPES.Bit], ["d", TYPES.Decimal, { precision: 18, scale: 4 }],
  ["n", TYPES.Numeric, { precision: 10, scale: 2 }], ["f", TYPES.Float], ["r", TYPES.Real],
  ["nv", TYPES.NVarChar, { length: 100 }], ["nvm", TYPES.NVarChar], ["v", TYPES.VarChar, { length: 50 }],
  ["vb", TYPES.VarBinary, { length: 100 }], ["vbm", TYPES.VarBinary], ["dt", TYPES.Date], ["dt2", TYPES.DateTime2],
  ["g", TYPES.UniqueIdentifier],
];

const ROWS: Record<string, unknown>[] = [
  { id: 1, i: -2147483648, bi: "9007199254740993", b: true, d: 12345.6789, n: -0.5, f: 1.5e300, r: 1.5,
    nv: "héllo ✓ 李", nvm: `${"x".repeat(5000)}ü`, v: "plain ascii", vb: Buffer.alloc(100, 7),
    vbm: Buffer.alloc(10_000, 0xab), dt: new Date("2024-02-29T00:00:00Z"),
    dt2: new Date("2024-02-29T13:45:12.345Z"), g: "6F9619FF-8B86-D011-B42D-00C04FC964FF" },
  { id: 2, i: null, bi: null, b: null, d: null, n: null, f: null, r: null, nv: null, nvm: null, v: null,
    vb: null, vbm: null, dt: null, dt2: null, g: null },
  { id: 3, i: 0, bi: "0", b: false, d: 0, n: 0, f: 0, r: 0, nv: "", nvm: "", v: "", vb: Buffer.alloc(0),
    vbm: Buffer.alloc(0), dt: new Date("0001-01-01T00:00:00Z"), dt2: new Date("9999-12-31T23:59:59.999Z"),
    g: "00000000-0000-0000-0000-000000000000" },
  { id: 4, i: 2147483647, bi: "-9223372036854775808", b: true, d: -12345678901234.5678, n: 99999999.99,
    f: -2.2250738585072014e-308, r: -3.5, nv: "ü".repeat(100), nvm: "é".repeat(4000), v: "a".repeat(50),
    vb: Buffer.alloc(100, 0xff), vbm: Buffer.alloc(8001, 1), dt: new Date("1970-01-01T00:00:00Z"),
    dt2: new Date("2000-01-01T00:00:00.000Z"), g: "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF" },
];

function run(connection: Connection, sql: string, params: Typed[]): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const rows: Record<string, unknown>[] = [];
    const request = new Request(sql, (error) => (error ? reject(error) : resolve(rows)));
    for (const p of params) request.addParameter(p.name, p.type as never, p.value, p.options ?? {});
    request.on("row", (columns) => {
      const list = (Array.isArray(columns) ? columns : Object.values(columns)) as { value: unknown; metadata: { colName: string } }[];
      rows.push(Object.fromEntries(list.map((c) => [c.metadata.colName, c.value])));
    });
    connection.execSql(request);
  });
}

test("tedious: every common type round-trips exactly through sp_executesql", async () => {
  const c = await connect(server.port, "drivers");
  const names = COLUMNS.map(([name]) => name);
  for (const row of ROWS) {
    await run(c, `INSERT INTO types (id, ${names.join(", ")}) VALUES (@id, ${names.map((n) => `@${n}`).join(", ")})`,
      [{ name: "id", type: TYPES.Int, value: row.id }, ...COLUMNS.map(([name, type, options]) =>
        ({ name, type, value: row[name], ...(options === undefined ? {} : { options }) }))]);
  }
  for (const row of ROWS) {
    const [back] = await run(c, "SELECT * FROM types WHERE id = @id", [{ name: "id", type: TYPES.Int, value: row.id }]);
    assert.deepEqual(back, row, `row ${String(row.id)}`);
  }
  // A value beyond its declared precision is refused with SQL Server's error; the session goes on.
  await assert.rejects(run(c, "SELECT @d AS d", [{ name: "d", type: TYPES.Decimal, value: -99999999999999.9999,
    options: { precision: 18, scale: 4 } }]), { number: 8009 });
  assert.deepEqual(await run(c, "SELECT @x AS x", [{ name: "x", type: TYPES.Int, value: 7 }]), [{ x: 7 }]);
  await close(c);
});

test("tedious: prepared statements, API transactions, errors inside a transaction", async () => {
  const c = await connect(server.port, "drivers");
  await query(c, "CREATE TABLE ledger (id INT PRIMARY KEY, amount DECIMAL(10, 2))");
  // tedious calls a request's callback at the end of each execute and of the unprepare.
  let pending: ((error?: Error | null) => void) | null = null;
  const insert = new Request("INSERT INTO ledger (id, amount) VALUES (@id, @amount)", (error) => {
    const settle = pending;
    pending = null;
    settle?.(error);
  });
  insert.addParameter("id", TYPES.Int);
  insert.addParameter("amount", TYPES.Decimal, undefined, { precision: 10, scale: 2 });
  let resolvePrepared: () => void = () => undefined;
  const call = (start: () => void) => new Promise<void>((resolve, reject) => {
    pending = (error) => (error ? reject(error) : resolve());
    resolvePrepared = resolve;
    start();
  });
  // A prepare ends with the 'prepared' event (its callback runs only on failure).
  await call(() => {
    insert.once("prepared", () => { pending = null; resolvePrepared(); });
    c.prepare(insert);
  });
  const execute = (id: number, amount: number) => call(() => c.execute(insert, { id, amount }));
  await execute(1, 10.5);
  await execute(2, -3.25);
  await new Promise<void>((resolve, reject) => c.beginTransaction((error) => (error ? reject(error) : resolve())));
  await execute(3, 100);
  await new Promise<void>((resolve, reject) => c.rollbackTransaction((error) => (error ? reject(error) : resolve())));
  await new Promise<void>((resolve, reject) => c.beginTransaction((error) => (error ? reject(error) : resolve())));
  await execute(4, 4);
  // An error inside the transaction ends that statement only. (Not through the prepared
  // request: tedious keeps a request's last error and reports it again at unprepare.)
  await assert.rejects(query(c, "INSERT INTO ledger (id, amount) VALUES (1, 0)"), { number: 2627 });
  await new Promise<void>((resolve, reject) => c.commitTransaction((error) => (error ? reject(error) : resolve())));
  const rows = await query(c, "SELECT id, amount FROM ledger ORDER BY id");
  assert.deepEqual(rows.rows[0], [{ id: 1, amount: 10.5 }, { id: 2, amount: -3.25 }, { id: 4, amount: 4 }]);
  await call(() => c.unprepare(insert));
  await close(c);
});

test("tedious: several result sets, PRINT and RAISERROR, SERVERPROPERTY", async () => {
  const c = await connect(server.port, "drivers");
  const messages: { number: number; message: string; class: number }[] = [];
  c.on("infoMessage", (info) => messages.push({ number: info.number, message: info.message, class: info.class }));
  const result = await query(c, "SELECT 1 AS a; SELECT 'two' AS b, 2 AS c; PRINT 'hello ' + 'world'; "
    + "RAISERROR('note %d of %s', 10, 1, 3, 'three'); SELECT SERVERPROPERTY('ProductVersion') AS v, SERVERPROPERTY('Nope') AS absent");
  assert.deepEqual(result.rows, [[{ a: 1 }], [{ b: "two", c: 2 }], [{ v: "16.0.1000.6", absent: null }]]);
  assert.deepEqual(messages.filter((m) => m.number !== 5701 && m.number !== 5703),
    [{ number: 0, message: "hello world", class: 0 }, { number: 50000, message: "note 3 of three", class: 10 }]);
  await assert.rejects(query(c, "RAISERROR(N'custom failure %s', 16, 7, N'x')"),
    { number: 50000, class: 16, state: 7, message: "custom failure x" });
  await assert.rejects(query(c, "RAISERROR('too severe', 20, 1)"), { number: 2754 });
  await close(c);
});

test("mssql: a pool of 20 connections, parameterised queries and a Transaction", async () => {
  const pool = await new mssql.ConnectionPool({
    server: "127.0.0.1", port: server.port, user: "sa", password: SA_PASSWORD, database: "drivers",
    options: { encrypt: false, trustServerCertificate: true }, pool: { max: 20, min: 20 },
  }).connect();
  try {
    await pool.request().query("CREATE TABLE hits (id INT IDENTITY(1,1) PRIMARY KEY, worker INT, note NVARCHAR(50))");
    await Promise.all(Array.from({ length: 20 }, async (_, worker) => {
      for (let i = 0; i < 10; i++) {
        await pool.request().input("worker", mssql.Int, worker).input("note", mssql.NVarChar(50), `w${worker}-${i}`)
          .query("INSERT INTO hits (worker, note) VALUES (@worker, @note)");
      }
    }));
    const count = await pool.request().query("SELECT count(*) AS n, count(DISTINCT worker) AS workers FROM hits");
    assert.deepEqual(count.recordset[0], { n: 200, workers: 20 });
    const transaction = new mssql.Transaction(pool);
    await transaction.begin();
    await new mssql.Request(transaction).query("INSERT INTO hits (worker, note) VALUES (99, N'rolled back')");
    await transaction.rollback();
    const committed = new mssql.Transaction(pool);
    await committed.begin();
    await new mssql.Request(committed).input("note", mssql.NVarChar, "kept").query("INSERT INTO hits (worker, note) VALUES (98, @note)");
    await committed.commit();
    const workers = await pool.request().query("SELECT worker FROM hits WHERE worker >= 98");
    assert.deepEqual(workers.recordset, [{ worker: 98 }]);
    await assert.rejects(pool.request().query("SELECT * FROM missing"), { number: 208 });
  } finally {
    await pool.close();
  }
});

function cli(command: string, args: string[], input: string, env: Record<string, string> = {}) {
  const result = spawnSync(command, args, { input, encoding: "utf8", timeout: 30_000,
    env: { ...process.env, TDSVER: "7.4", LANG: "C.UTF-8", ...env } });
  return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

test("FreeTDS bsqldb, ODBC isql (tdsodbc) and pymssql: batches, typed rows, numbered errors", () => {
  const setup = cli("tsql", ["-H", "127.0.0.1", "-p", String(server.port), "-U", "sa", "-P", SA_PASSWORD, "-D", "drivers", "-o", "fhq"],
    "CREATE TABLE cities (id INT PRIMARY KEY, name NVARCHAR(40), pop BIGINT, area FLOAT)\ngo\n"
    + "INSERT INTO cities VALUES (1, N'Oslo', 709037, 454.0)\ngo\nINSERT INTO cities VALUES (2, N'Zürich', 421878, 87.88)\ngo\n");
  assert.equal(setup.status, 0, setup.stderr);

  const bsqldb = cli("bsqldb", ["-S", `127.0.0.1:${server.port}`, "-U", "sa", "-P", SA_PASSWORD, "-D", "drivers", "-q", "-t", "|"],
    "SELECT id, name, pop FROM cities ORDER BY id\ngo\n");
  assert.equal(bsqldb.status, 0, bsqldb.stderr);
  assert.match(bsqldb.stdout, /1\|Oslo\|709037\s*\n\s*2\|Zürich\|421878/);
  const bsqlError = cli("bsqldb", ["-S", `127.0.0.1:${server.port}`, "-U", "sa", "-P", SA_PASSWORD, "-D", "drivers"],
    "SELECT * FROM nowhere\ngo\n");
  assert.notEqual(bsqlError.status, 0);
  assert.match(bsqlError.stderr + bsqlError.stdout, /208|Invalid object name 'nowhere'/);

  const odbc = `DRIVER=FreeTDS;SERVER=127.0.0.1;PORT=${server.port};UID=sa;PWD=${SA_PASSWORD};DATABASE=drivers;TDS_Version=7.4`;
  for (const mode of [["-e"], []]) { // -e: SQLExecDirect (a batch); without: SQLPrepare → sp_prepexec
    const isql = cli("isql", ["-b", ...mode, "-k", odbc, "-d|", "-c"], "SELECT id, name, area FROM cities ORDER BY id\n");
    assert.equal(isql.status, 0, isql.stderr + isql.stdout);
    assert.match(isql.stdout, /id\|name\|area\s*\n1\|Oslo\|454(\.0)?\s*\n2\|Zürich\|87\.8(8|79+\d*)\s/, `isql ${mode.join(" ")}`);
  }
  const isqlError = cli("isql", ["-v", "-b", "-e", "-k", odbc], "SELECT * FROM nowhere\n");
  // FreeTDS maps error 208 to SQLSTATE S0002 (base table not found).
  assert.match(isqlError.stdout + isqlError.stderr, /\[S0002\]\[FreeTDS\]\[SQL Server\]Invalid object name 'nowhere'/);

  const python = `
import pymssql, sys
c = pymssql.connect(server='127.0.0.1', port=${server.port}, user='sa', password=sys.argv[1], database='drivers')
cur = c.cursor()
cur.execute('SELECT id, name, pop, area FROM cities WHERE id = %d', (2,))
print(repr(cur.fetchall()))
cur.execute("INSERT INTO cities VALUES (3, %s, 1, 2.5)", ('Bern',))
c.commit()
cur.execute('SELECT count(*) FROM cities')
print(cur.fetchone()[0])
try:
    cur.execute('SELECT * FROM nowhere')
except pymssql.Error as e:
    print('error', e.args[0])
`;
  const py = spawnSync("/usr/bin/python3", ["-c", python, SA_PASSWORD], { encoding: "utf8", timeout: 30_000 });
  assert.equal(py.status, 0, py.stderr);
  assert.deepEqual(py.stdout.trim().split("\n"), ["[(2, 'Zürich', 421878, 87.88)]", "3", "error 208"]);
});

test("bsqldb, isql and pymssql with encryption required and with it off", () => {
  for (const encryption of ["require", "off"]) {
    // [global] settings apply to every FreeTDS connection, DSN-less ones included.
    const conf = path.join(temp.dir, `freetds-${encryption}.conf`);
    fs.writeFileSync(conf, `[global]\n\ttds version = 7.4\n\tencryption = ${encryption}\n`);
    const env = { FREETDSCONF: conf };
    const bsqldb = cli("bsqldb", ["-S", `127.0.0.1:${server.port}`, "-U", "sa", "-P", SA_PASSWORD, "-D", "drivers", "-q", "-t", "|"],
      "SELECT id, name FROM cities WHERE id = 1\ngo\n", env);
    assert.equal(bsqldb.status, 0, `bsqldb ${encryption}: ${bsqldb.stderr}`);
    assert.match(bsqldb.stdout, /1\|Oslo/);
    const odbc = `DRIVER=FreeTDS;SERVER=127.0.0.1;PORT=${server.port};UID=sa;PWD=${SA_PASSWORD};DATABASE=drivers;Encryption=${encryption}`;
    const isql = cli("isql", ["-b", "-e", "-k", odbc, "-d|"], "SELECT id, name FROM cities WHERE id = 2\n", env);
    assert.equal(isql.status, 0, `isql ${encryption}: ${isql.stderr}${isql.stdout}`);
    assert.match(isql.stdout, /2\|Zürich/);
    const py = spawnSync("/usr/bin/python3", ["-c", `
import pymssql, sys
c = pymssql.connect(server='127.0.0.1', port=${server.port}, user='sa', password=sys.argv[1], database='drivers')
cur = c.cursor()
cur.execute('SELECT name FROM cities WHERE id = 1')
print(cur.fetchone()[0])`, SA_PASSWORD], { encoding: "utf8", timeout: 30_000, env: { ...process.env, ...env } });
    assert.equal(py.status, 0, `pymssql ${encryption}: ${py.stderr}`);
    assert.equal(py.stdout.trim(), "Oslo");
  }
});
