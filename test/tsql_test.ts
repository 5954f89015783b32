// The T-SQL front end: lexer, GO splitting, batch parsing (statement kinds and where each
// statement ends), the data-statement rewrite rules of DESIGN §3b, and every front-end
// error with its number and batch line. The last tests run rewritten statements in SQLite.

import { test } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { tokenize } from "../src/tsql/lexer.js";
import { splitGo } from "../src/tsql/go.js";
import { parseBatch } from "../src/tsql/parser.js";
import { rewriteData, type RewriteContext } from "../src/tsql/rewrite.js";
import { errorLine } from "../src/tsql/errors.js";
import type { DataStatement, Statement } from "../src/tsql/statements.js";
import { SqlError } from "../src/errors/sql_error.js";

const context: RewriteContext = {
  spid: 52, databaseName: "shop", databaseId: 5, serverName: "HOST_A",
  version: "Microsoft SQL Server 2022 (mirrorlite)", trancount: 1, rowcount: 3, identity: 41,
};

/** The one data statement of `sql`, rewritten for `context`. */
function rewrite(sql: string, session: RewriteContext = context): string {
  const statements = parseBatch(sql);
  assert.equal(statements.length, 1, `one statement in ${sql}`);
  const statement = statements[0]!;
  assert.equal(statement.kind, "data");
  return rewriteData(statement as DataStatement, session);
}

/** Asserts that `action` throws SqlError `number` at batch line `line`. */
function assertError(action: () => unknown, number: number, line: number, message?: string): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof SqlError, `SqlError expected, got ${String(error)}`);
    assert.equal(error.number, number, error.message);
    assert.equal(errorLine(error), line, error.message);
    if (message !== undefined) assert.equal(error.message, message);
    return true;
  });
}

/** The fields of `statement` named in `expected`, for partial comparisons. */
function pick(statement: Statement, expected: object): object {
  const record = statement as unknown as Record<string, unknown>;
  return Object.fromEntries(Object.keys(expected).map((key) => [key, record[key]]));
}

// ---------------------------------------------------------------------------------------
// Lexer

const lexed: ReadonlyArray<[sql: string, tokens: Array<[string, string]>]> = [
  ["SELECT [a]]b], \"x\"\"y\"", [["word", "SELECT"], ["quoted", "a]b"], ["op", ","], ["quoted", "x\"y"]]],
  ["'it''s' N'ünï' n'x'", [["string", "it's"], ["nstring", "ünï"], ["nstring", "x"]]],
  ["1 2.5 .5 1e5 1.5E-3 0x0aFF 0x", [["number", "1"], ["number", "2.5"], ["number", ".5"],
    ["number", "1e5"], ["number", "1.5E-3"], ["binary", "0x0aFF"], ["binary", "0x"]]],
  ["@v @@VERSION #tmp a$b", [["variable", "@v"], ["sysvar", "@@VERSION"], ["word", "#tmp"], ["word", "a$b"]]],
  ["a<>b!=c<=d>=e||f::g", [["word", "a"], ["op", "<>"], ["word", "b"], ["op", "!="], ["word", "c"],
    ["op", "<="], ["word", "d"], ["op", ">="], ["word", "e"], ["op", "||"], ["word", "f"],
    ["op", "::"], ["word", "g"]]],
  ["x -- note\n/* a /* nested */ b */y", [["word", "x"], ["comment", "-- note"],
    ["comment", "/* a /* nested */ b */"], ["word", "y"]]],
];

for (const [sql, expected] of lexed) {
  test(`tokenize(): ${JSON.stringify(sql)}`, () => {
    const tokens = tokenize(sql).filter((token) => token.kind !== "space");
    assert.deepEqual(tokens.map((token) => [token.kind, token.value]), expected);
    assert.equal(tokenize(sql).map((token) => token.text).join(""), sql, "texts rebuild the batch");
  });
}

test("tokenize(): tokens carry offsets and 1-based batch lines, also after multi-line tokens", () => {
  const tokens = tokenize("a\r\n'x\ny' /*\n\n*/ b").filter((token) => token.kind !== "space");
  assert.deepEqual(tokens.map((token) => [token.text, token.line]),
    [["a", 1], ["'x\ny'", 2], ["/*\n\n*/", 3], ["b", 5]]);
  assert.deepEqual([tokens[1]!.start, tokens[1]!.end], [3, 8]);
});

test("tokenize(): unterminated strings and identifiers are 105, unterminated comments 113", () => {
  assertError(() => tokenize("SELECT 1\nSELECT 'abc\ndef"), 105, 2,
    "Unclosed quotation mark after the character string 'abc\ndef'.");
  assertError(() => tokenize("SELECT N'x"), 105, 1);
  assertError(() => tokenize("\nSELECT [abc"), 105, 2);
  assertError(() => tokenize("SELECT 1 /* a /* b */\n"), 113, 1, "Missing end comment mark '*/'.");
});

// ---------------------------------------------------------------------------------------
// GO

const goCases: ReadonlyArray<[name: string, script: string, batches: Array<[string, number, number]>]> = [
  ["GO lines separate batches", "SELECT 1\nGO\nSELECT 2\n", [["SELECT 1", 1, 1], ["SELECT 2\n", 3, 1]]],
  ["any case, blanks, a count and a trailing comment", "a\n  go  \nb\nGo 3 -- thrice\nc",
    [["a", 1, 1], ["b", 3, 3], ["c", 5, 1]]],
  ["empty batches are dropped", "GO\n\nGO\nSELECT 1\nGO\n  \nGO", [["SELECT 1", 4, 1]]],
  ["GO inside a string spanning lines is text", "SELECT 'a\nGO\nb'\nGO\nx",
    [["SELECT 'a\nGO\nb'", 1, 1], ["x", 5, 1]]],
  ["GO inside a block comment spanning lines is text", "/* x\nGO\n*/ SELECT 1\nGO",
    [["/* x\nGO\n*/ SELECT 1", 1, 1]]],
  ["GO after a line comment ends the batch", "SELECT 1 -- it's\nGO\nSELECT 2",
    [["SELECT 1 -- it's", 1, 1], ["SELECT 2", 3, 1]]],
  ["GO with other text is not a separator", "SELECT 1\nGO;\ngoto x\nGOX", [["SELECT 1\nGO;\ngoto x\nGOX", 1, 1]]],
  ["CRLF scripts", "SELECT 1\r\nGO\r\nSELECT 2\r\n", [["SELECT 1\r", 1, 1], ["SELECT 2\r\n", 3, 1]]],
];

for (const [name, script, expected] of goCases) {
  test(`splitGo(): ${name}`, () => {
    const batches = splitGo(script).map((batch) => [batch.text, batch.firstLine, batch.repeat]);
    assert.deepEqual(batches, expected);
  });
}

// ---------------------------------------------------------------------------------------
// Statements

const parsed: ReadonlyArray<[sql: string, expected: object]> = [
  ["CREATE DATABASE [Sales DB]", { kind: "createDatabase", name: "Sales DB" }],
  ["DROP DATABASE IF EXISTS a, [b]", { kind: "dropDatabase", names: ["a", "b"], ifExists: true }],
  ["drop database a", { kind: "dropDatabase", names: ["a"], ifExists: false }],
  ["ALTER DATABASE shop SET RECOVERY SIMPLE", { kind: "alterDatabaseSetRecovery", name: "shop", model: "SIMPLE" }],
  ["ALTER DATABASE CURRENT SET RECOVERY bulk_logged WITH ROLLBACK IMMEDIATE",
    { kind: "alterDatabaseSetRecovery", name: null, model: "BULK_LOGGED" }],
  ["ALTER DATABASE shop SET PARTNER = 'TCP://host_b:7022'",
    { kind: "alterDatabaseOther", name: "shop", option: "PARTNER", rest: "= 'TCP://host_b:7022'" }],
  ["ALTER DATABASE shop SET PARTNER SAFETY OFF", { kind: "alterDatabaseOther", option: "PARTNER", rest: "SAFETY OFF" }],
  ["ALTER DATABASE shop SET WITNESS OFF", { kind: "alterDatabaseOther", option: "WITNESS", rest: "OFF" }],
  ["USE [master]", { kind: "use", database: "master" }],
  ["SET NOCOUNT ON", { kind: "setOption", option: "NOCOUNT", options: ["NOCOUNT"], value: "ON", target: null }],
  ["set ansi_nulls, quoted_identifier off",
    { kind: "setOption", option: "ANSI_NULLS", options: ["ANSI_NULLS", "QUOTED_IDENTIFIER"], value: "OFF" }],
  ["SET STATISTICS IO, TIME ON", { kind: "setOption", options: ["STATISTICS IO", "STATISTICS TIME"], value: "ON" }],
  ["SET DEADLOCK_PRIORITY -5", { kind: "setOption", option: "DEADLOCK_PRIORITY", value: "-5" }],
  ["SET DEADLOCK_PRIORITY low", { kind: "setOption", option: "DEADLOCK_PRIORITY", value: "LOW" }],
  ["SET ROWCOUNT 0", { kind: "setOption", option: "ROWCOUNT", value: "0" }],
  ["SET LANGUAGE N'Deutsch'", { kind: "setOption", option: "LANGUAGE", value: "Deutsch" }],
  ["SET DATEFORMAT 'dmy'", { kind: "setOption", option: "DATEFORMAT", value: "dmy" }],
  ["SET CONTEXT_INFO 0x01", { kind: "setOption", option: "CONTEXT_INFO", value: "0x01" }],
  ["SET IDENTITY_INSERT dbo.[orders] ON", { kind: "setOption", option: "IDENTITY_INSERT", value: "ON", target: "orders" }],
  ["SET LOCK_TIMEOUT -1", { kind: "setLockTimeout", ms: -1 }],
  ["SET LOCK_TIMEOUT 1800", { kind: "setLockTimeout", ms: 1800 }],
  ["SET TRANSACTION ISOLATION LEVEL SNAPSHOT", { kind: "setTransactionIsolationLevel", level: "SNAPSHOT" }],
  ["set transaction isolation level repeatable read", { kind: "setTransactionIsolationLevel", level: "REPEATABLE READ" }],
  ["BEGIN TRAN", { kind: "beginTransaction", name: null }],
  ["BEGIN TRANSACTION t1 WITH MARK N'before upgrade'", { kind: "beginTransaction", name: "t1" }],
  ["COMMIT", { kind: "commitTransaction", name: null }],
  ["COMMIT TRANSACTION t1", { kind: "commitTransaction", name: "t1" }],
  ["COMMIT WORK", { kind: "commitTransaction", name: null }],
  ["ROLLBACK TRAN sp1", { kind: "rollbackTransaction", savepoint: "sp1" }],
  ["ROLLBACK WORK", { kind: "rollbackTransaction", savepoint: null }],
  ["SAVE TRANSACTION [sp 1]", { kind: "saveTransaction", name: "sp 1" }],
  ["SELECT * FROM master.sys.databases d JOIN [sys].[database_mirroring] m ON 1 = 1, sys.databases",
    { kind: "data", catalogViews: ["databases", "database_mirroring"] }],
  ["SELECT * FROM msdb..backupset", { kind: "data", catalogViews: ["msdb.dbo.backupset"] }],
  ["BACKUP DATABASE shop TO DISK = 'shop.bak' WITH INIT, CHECKSUM", { kind: "admin", verb: "BACKUP DATABASE" }],
  ["BACKUP LOG shop TO DISK = 'shop.trn' WITH NORECOVERY", { kind: "admin", verb: "BACKUP LOG" }],
  ["RESTORE HEADERONLY FROM DISK = 'x.bak'", { kind: "admin", verb: "RESTORE HEADERONLY" }],
  ["BACKUP CERTIFICATE c TO FILE = 'c.cer'", { kind: "admin", verb: "BACKUP CERTIFICATE" }],
  ["CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'p'", { kind: "admin", verb: "CREATE MASTER KEY" }],
  ["CREATE CERTIFICATE c WITH SUBJECT = 's', EXPIRY_DATE = '20300101'", { kind: "admin", verb: "CREATE CERTIFICATE" }],
  ["CREATE LOGIN l WITH PASSWORD = 'p'", { kind: "admin", verb: "CREATE LOGIN" }],
  ["CREATE USER u FOR LOGIN l", { kind: "admin", verb: "CREATE USER" }],
  ["DROP ENDPOINT e", { kind: "admin", verb: "DROP ENDPOINT" }],
  ["GRANT CONNECT ON ENDPOINT::Endpoint_Mirroring TO [HOST_B_login]", { kind: "admin", verb: "GRANT" }],
  ["EXEC msdb.dbo.sp_dbmmonitorresults shop, 2, 0", { kind: "admin", verb: "EXECUTE sp_dbmmonitorresults" }],
  ["sp_dbmmonitorresults shop", { kind: "admin", verb: "EXECUTE sp_dbmmonitorresults" }],
  ["CREATE ENDPOINT Endpoint_Mirroring STATE = STARTED AS TCP ( LISTENER_PORT=7024 , LISTENER_IP = ALL ) "
    + "FOR DATABASE_MIRRORING ( AUTHENTICATION = CERTIFICATE HOST_A_cert , ENCRYPTION = REQUIRED ALGORITHM AES , ROLE = ALL )",
  { kind: "admin", verb: "CREATE ENDPOINT" }],
  ["CREATE CERTIFICATE HOST_B_cert AUTHORIZATION HOST_B_user FROM FILE = 'C:\\HOST_B_cert.cer'",
    { kind: "admin", verb: "CREATE CERTIFICATE" }],
  ["RESTORE LOG shop FROM DISK = 'l.trn' WITH FILE = 2, NORECOVERY", { kind: "admin", verb: "RESTORE LOG" }],
  ["BACKUP SERVICE MASTER KEY TO FILE = 'k' ENCRYPTION BY PASSWORD = 'p'", { kind: "admin", verb: "BACKUP SERVICE MASTER KEY" }],
  ["ALTER DATABASE shop SET PARTNER TIMEOUT 20", { kind: "alterDatabaseOther", option: "PARTNER", rest: "TIMEOUT 20" }],
  ["RAISERROR(N'%s failed: %d', 16, 1, N'copy', -5) WITH NOWAIT, LOG", { kind: "raiserror", options: ["NOWAIT", "LOG"] }],
];

test("parseBatch(): PRINT takes an expression; RAISERROR its literal and parameter arguments", () => {
  const [print, raiserror, next] = parseBatch("PRINT N'a' + 'b'\nRAISERROR('x %d', 10, @state, -7)\nSELECT 1",
    { parameters: new Set(["@state"]) });
  assert.equal(print!.kind, "print");
  assert.equal(print!.kind === "print" && print!.expression.text, "N'a' + 'b'");
  assert.ok(raiserror!.kind === "raiserror");
  assert.deepEqual([raiserror.message.value, raiserror.severity.text, raiserror.state.text, raiserror.args.map((a) => a.text)],
    ["x %d", "10", "@state", ["-7"]]);
  assert.equal(next!.kind, "data");
});

for (const [sql, expected] of parsed) {
  test(`parseBatch(): ${sql}`, () => {
    const statements = parseBatch(sql);
    assert.equal(statements.length, 1);
    assert.deepEqual(pick(statements[0]!, expected), expected);
    assert.equal(statements[0]!.text, sql);
  });
}

test("parseBatch(): tedious's post-login batch is one SET statement per line", () => {
  const batch = [
    "set ansi_nulls on", "set ansi_null_dflt_on on", "set ansi_padding on", "set ansi_warnings on",
    "set arithabort on", "set concat_null_yields_null on", "set cursor_close_on_commit off",
    "set datefirst 7", "set dateformat mdy", "set implicit_transactions off",
    "set language us_english", "set numeric_roundabort off", "set quoted_identifier on",
    "set textsize 2147483647", "set transaction isolation level read committed", "set xact_abort off",
  ];
  const statements = parseBatch(batch.join("\n"));
  assert.deepEqual(statements.map((statement) => [statement.text, statement.line]),
    batch.map((text, index) => [text, index + 1]));
  const values = statements.map((statement) =>
    statement.kind === "setOption" ? `${statement.option}=${statement.value}` : statement.kind);
  assert.deepEqual(values, [
    "ANSI_NULLS=ON", "ANSI_NULL_DFLT_ON=ON", "ANSI_PADDING=ON", "ANSI_WARNINGS=ON", "ARITHABORT=ON",
    "CONCAT_NULL_YIELDS_NULL=ON", "CURSOR_CLOSE_ON_COMMIT=OFF", "DATEFIRST=7", "DATEFORMAT=MDY",
    "IMPLICIT_TRANSACTIONS=OFF", "LANGUAGE=us_english", "NUMERIC_ROUNDABORT=OFF",
    "QUOTED_IDENTIFIER=ON", "TEXTSIZE=2147483647", "setTransactionIsolationLevel", "XACT_ABORT=OFF",
  ]);
});

// Where statements end without ';': each row lists the statements' texts.
const splits: ReadonlyArray<[name: string, sql: string, texts: string[]]> = [
  ["semicolons and newlines", "SELECT 1; SELECT 2\nSELECT 3;;", ["SELECT 1", "SELECT 2", "SELECT 3"]],
  ["INSERT … SELECT continues, the next SELECT does not",
    "INSERT INTO t (a) SELECT a FROM u\nSELECT * FROM t", ["INSERT INTO t (a) SELECT a FROM u", "SELECT * FROM t"]],
  ["INSERT … VALUES ends before SELECT", "INSERT t VALUES (1) SELECT 2", ["INSERT t VALUES (1)", "SELECT 2"]],
  ["set operators continue", "SELECT 1 UNION ALL SELECT 2 EXCEPT SELECT 3 INTERSECT SELECT 4 SELECT 5",
    ["SELECT 1 UNION ALL SELECT 2 EXCEPT SELECT 3 INTERSECT SELECT 4", "SELECT 5"]],
  ["subqueries never split", "SELECT (SELECT 1), x FROM (SELECT 2 AS x) s WHERE EXISTS (SELECT 3) SELECT 4",
    ["SELECT (SELECT 1), x FROM (SELECT 2 AS x) s WHERE EXISTS (SELECT 3)", "SELECT 4"]],
  ["UPDATE's SET continues, a session SET does not", "UPDATE t SET a = 1 WHERE b = 2 SET NOCOUNT ON",
    ["UPDATE t SET a = 1 WHERE b = 2", "SET NOCOUNT ON"]],
  ["WITH … SELECT, WITH … INSERT … SELECT",
    "WITH c AS (SELECT 1 AS a), d (b) AS (SELECT 2) SELECT * FROM c, d;\nWITH c AS (SELECT 1 AS a) INSERT INTO t SELECT a FROM c\nDELETE FROM t",
    ["WITH c AS (SELECT 1 AS a), d (b) AS (SELECT 2) SELECT * FROM c, d",
      "WITH c AS (SELECT 1 AS a) INSERT INTO t SELECT a FROM c", "DELETE FROM t"]],
  ["WITH … UPDATE … SET", "WITH c AS (SELECT 1 AS a) UPDATE t SET a = 2 SELECT 1",
    ["WITH c AS (SELECT 1 AS a) UPDATE t SET a = 2", "SELECT 1"]],
  ["CREATE VIEW / TABLE … AS SELECT", "CREATE VIEW v AS SELECT 1 AS a CREATE TABLE t2 AS SELECT * FROM v DROP VIEW v",
    ["CREATE VIEW v AS SELECT 1 AS a", "CREATE TABLE t2 AS SELECT * FROM v", "DROP VIEW v"]],
  ["trigger header events and a body with ';' run to END",
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = CASE WHEN 1 = 1 THEN 2 END; DELETE FROM u; END\nINSERT INTO t VALUES (1)",
    ["CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = CASE WHEN 1 = 1 THEN 2 END; DELETE FROM u; END",
      "INSERT INTO t VALUES (1)"]],
  ["INSTEAD OF DELETE and UPDATE OF triggers", "CREATE TRIGGER tr INSTEAD OF DELETE ON v BEGIN SELECT 1; END CREATE TRIGGER tu BEFORE UPDATE OF a ON t BEGIN SELECT 2; END",
    ["CREATE TRIGGER tr INSTEAD OF DELETE ON v BEGIN SELECT 1; END", "CREATE TRIGGER tu BEFORE UPDATE OF a ON t BEGIN SELECT 2; END"]],
  ["ALTER TABLE … DROP / ALTER COLUMN continue, the next ALTER does not",
    "ALTER TABLE t DROP COLUMN a ALTER TABLE t ADD b INT REFERENCES p (id) ON DELETE SET NULL ON UPDATE CASCADE DROP TABLE t",
    ["ALTER TABLE t DROP COLUMN a", "ALTER TABLE t ADD b INT REFERENCES p (id) ON DELETE SET NULL ON UPDATE CASCADE", "DROP TABLE t"]],
  ["upsert DO UPDATE SET and OR ROLLBACK", "INSERT OR ROLLBACK INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 2 COMMIT",
    ["INSERT OR ROLLBACK INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 2", "COMMIT"]],
  ["DROP TABLE IF EXISTS", "DROP TABLE IF EXISTS t CREATE TABLE IF NOT EXISTS t (a INT)",
    ["DROP TABLE IF EXISTS t", "CREATE TABLE IF NOT EXISTS t (a INT)"]],
  ["transactions between data statements", "BEGIN TRAN INSERT t VALUES (1) SAVE TRAN s DELETE t ROLLBACK TRAN s COMMIT",
    ["BEGIN TRAN", "INSERT t VALUES (1)", "SAVE TRAN s", "DELETE t", "ROLLBACK TRAN s", "COMMIT"]],
  ["USE and admin statements end at the next statement",
    "USE shop BACKUP DATABASE shop TO DISK = 'a' WITH INIT SELECT 1 GRANT SELECT, INSERT ON t TO u SELECT 2",
    ["USE shop", "BACKUP DATABASE shop TO DISK = 'a' WITH INIT", "SELECT 1", "GRANT SELECT, INSERT ON t TO u", "SELECT 2"]],
  ["ALTER DATABASE … SET PARTNER ends at the next statement",
    "ALTER DATABASE shop SET PARTNER FAILOVER\nALTER DATABASE shop SET SINGLE_USER WITH ROLLBACK IMMEDIATE\nSELECT 1",
    ["ALTER DATABASE shop SET PARTNER FAILOVER", "ALTER DATABASE shop SET SINGLE_USER WITH ROLLBACK IMMEDIATE", "SELECT 1"]],
  ["OFFSET … FETCH is not a cursor FETCH", "SELECT a FROM t ORDER BY a OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY",
    ["SELECT a FROM t ORDER BY a OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY"]],
  ["comments stay inside, lines are the statement's first line",
    "-- header\nSELECT 1 /* one */\n\n  SELECT 2 -- two", ["SELECT 1", "SELECT 2"]],
];

for (const [name, sql, texts] of splits) {
  test(`parseBatch() splits: ${name}`, () => {
    assert.deepEqual(parseBatch(sql).map((statement) => statement.text), texts);
  });
}

test("parseBatch(): statement lines and data tokens keep interior comments", () => {
  const statements = parseBatch("-- header\nSELECT 1 /* one */\n+ 1\n\n  BEGIN TRAN");
  assert.deepEqual(statements.map((statement) => statement.line), [2, 5]);
  const data = statements[0] as DataStatement;
  assert.equal(data.tokens.map((token) => token.text).join(""), "SELECT 1 /* one */\n+ 1");
});

// Every front-end error: number, batch line and message.
const errors: ReadonlyArray<[sql: string, number: number, line: number, message: string]> = [
  ["SELECT 1\nSELECT 'oops", 105, 2, "Unclosed quotation mark after the character string 'oops'."],
  ["SELECT 1 /*", 113, 1, "Missing end comment mark '*/'."],
  ["SET NOCOUNT\nON\nSET FOO ON", 195, 3, "'FOO' is not a recognized SET option."],
  ["SET NOCOUNT YES", 102, 1, "Incorrect syntax near 'YES'."],
  ["USE", 156, 1, "Incorrect syntax near the keyword 'USE'."],
  ["USE FROM", 156, 1, "Incorrect syntax near the keyword 'FROM'."],
  ["SELECT 1\n)", 102, 2, "Incorrect syntax near ')'."],
  ["COMMIT\nfoo bar", 102, 2, "Incorrect syntax near 'foo'."],
  ["SELECT (1\n+ 2", 102, 2, "Incorrect syntax near '2'."],
  ["SET TRANSACTION ISOLATION LEVEL CHAOS", 102, 1, "Incorrect syntax near 'CHAOS'."],
  ["DROP DATABASE", 156, 1, "Incorrect syntax near the keyword 'DATABASE'."],
  ["SELECT 1\nDECLARE @x INT", 40517, 2,
    "Keyword or statement option 'DECLARE' is not supported in this version of SQL Server."],
  ["EXEC sp_who", 40517, 1, "Keyword or statement option 'EXECUTE' is not supported in this version of SQL Server."],
  ["IF 1 = 1 SELECT 1", 40517, 1, "Keyword or statement option 'IF' is not supported in this version of SQL Server."],
  ["\nWHILE 1 = 0 BREAK", 40517, 2, "Keyword or statement option 'WHILE' is not supported in this version of SQL Server."],
  ["PRINT", 156, 1, "Incorrect syntax near the keyword 'PRINT'."],
  ["RAISERROR('x', 16)", 102, 1, "Incorrect syntax near ')'."],
  ["MERGE t USING u ON 1 = 1", 40517, 1, "Keyword or statement option 'MERGE' is not supported in this version of SQL Server."],
  ["PRAGMA journal_mode", 40517, 1, "Keyword or statement option 'PRAGMA' is not supported in this version of SQL Server."],
  ["CREATE PROCEDURE p AS SELECT 1", 40517, 1,
    "Keyword or statement option 'CREATE PROCEDURE' is not supported in this version of SQL Server."],
  ["CREATE OR ALTER VIEW v AS SELECT 1", 40517, 1,
    "Keyword or statement option 'CREATE OR ALTER' is not supported in this version of SQL Server."],
  ["CREATE DATABASE d ON PRIMARY (NAME = d)", 40517, 1,
    "Keyword or statement option 'CREATE DATABASE … ON' is not supported in this version of SQL Server."],
  ["ALTER DATABASE d MODIFY NAME = e", 40517, 1,
    "Keyword or statement option 'ALTER DATABASE MODIFY' is not supported in this version of SQL Server."],
  ["BEGIN TRY SELECT 1 END TRY", 40517, 1, "Keyword or statement option 'BEGIN TRY' is not supported in this version of SQL Server."],
  ["BEGIN DISTRIBUTED TRAN", 40517, 1,
    "Keyword or statement option 'BEGIN DISTRIBUTED TRANSACTION' is not supported in this version of SQL Server."],
  ["SET @x = 1", 40517, 1, "Keyword or statement option '@x' is not supported in this version of SQL Server."],
  ["SELECT 1\nSELECT *\nFROM t WHERE a = @a", 40517, 3,
    "Keyword or statement option '@a' is not supported in this version of SQL Server."],
  ["SELECT * INTO t2 FROM t", 40517, 1, "Keyword or statement option 'SELECT INTO' is not supported in this version of SQL Server."],
  ["SELECT TOP 10 PERCENT a FROM t", 40517, 1,
    "Keyword or statement option 'TOP … PERCENT' is not supported in this version of SQL Server."],
  ["DELETE TOP (5) FROM t", 40517, 1, "Keyword or statement option 'TOP' is not supported in this version of SQL Server."],
  ["CREATE TABLE #t (a INT)", 40517, 1, "Keyword or statement option '#t' is not supported in this version of SQL Server."],
  ["CREATE TABLE t (\nid INT IDENTITY(100, 10))", 40517, 2,
    "Keyword or statement option 'IDENTITY(100,10)' is not supported in this version of SQL Server."],
  ["CREATE TABLE t (id INT IDENTITY, b INT, PRIMARY KEY (b))", 40517, 1,
    "Keyword or statement option 'IDENTITY column outside the PRIMARY KEY' is not supported in this version of SQL Server."],
  ["ALTER TABLE t ADD id INT IDENTITY", 40517, 1, "Keyword or statement option 'IDENTITY' is not supported in this version of SQL Server."],
  ["SELECT @@ERROR", 40513, 1, "Server variable '@@ERROR' is not supported in this version of SQL Server."],
];

for (const [sql, number, line, message] of errors) {
  test(`parseBatch() error ${number}: ${JSON.stringify(sql)}`, () => {
    assertError(() => parseBatch(sql), number, line, message);
  });
}

test("parseBatch(): an error anywhere refuses the whole batch before anything runs", () => {
  assertError(() => parseBatch("CREATE TABLE t (a INT)\nINSERT t VALUES (1)\nEXEC p"), 40517, 3);
});

// ---------------------------------------------------------------------------------------
// Rewrite rules (DESIGN §3b), one row per rule or interaction

const now = "(strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime'))";
const utcNow = "(strftime('%Y-%m-%d %H:%M:%f', 'now'))";

const rewrites: ReadonlyArray<[rule: string, tsql: string, sqlite: string]> = [
  ["N'…' literals", "INSERT INTO t VALUES (N'it''s', n'x')", "INSERT INTO t VALUES ('it''s', 'x')"],
  ["[names] and \"names\"", "SELECT [a]]b], \"c\"\"d\" FROM [my table]", "SELECT \"a]b\", \"c\"\"d\" FROM \"my table\""],
  ["(MAX) type lengths", "CREATE TABLE t (a NVARCHAR(MAX), b VARCHAR(max), c [varbinary](MAX), d INT)",
    "CREATE TABLE t (a NVARCHAR(2147483647), b VARCHAR(2147483647), c \"varbinary\"(2147483647), d INT)"],
  ["MAX the aggregate is untouched", "SELECT MAX(a) AS m FROM t", "SELECT MAX(a) AS m FROM t"],
  ["IDENTITY(1,1) PRIMARY KEY", "CREATE TABLE t (id INT IDENTITY(1,1) PRIMARY KEY, a INT)",
    "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a INT)"],
  ["PRIMARY KEY before IDENTITY, bigint", "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY CLUSTERED IDENTITY)",
    "CREATE TABLE t (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT)"],
  ["IDENTITY with a table PRIMARY KEY on it", "CREATE TABLE t (id INT IDENTITY(1,1) NOT NULL, a INT, PRIMARY KEY (id))",
    "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, a INT)"],
  ["IDENTITY with a named clustered constraint, SSMS options and filegroups",
    "CREATE TABLE [dbo].[t] ([id] [int] IDENTITY(1,1) NOT NULL, [a] [nvarchar](50) NULL, CONSTRAINT [PK_t] PRIMARY KEY CLUSTERED ([id] ASC) WITH (PAD_INDEX = OFF, IGNORE_DUP_KEY = OFF) ON [PRIMARY]) ON [PRIMARY] TEXTIMAGE_ON [PRIMARY]",
    "CREATE TABLE \"t\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, \"a\" \"nvarchar\"(50) NULL)"],
  ["IDENTITY without any PRIMARY KEY becomes the key", "CREATE TABLE t (id NUMERIC(10, 0) IDENTITY, a INT)",
    "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a INT)"],
  ["CLUSTERED / NONCLUSTERED dropped", "CREATE UNIQUE NONCLUSTERED INDEX ix ON t (a) WITH (FILLFACTOR = 80) ON [PRIMARY]",
    "CREATE UNIQUE INDEX ix ON t (a)"],
  ["foreign key actions stay", "CREATE TABLE c (p INT REFERENCES p (id) ON DELETE CASCADE ON UPDATE SET NULL)",
    "CREATE TABLE c (p INT REFERENCES p (id) ON DELETE CASCADE ON UPDATE SET NULL)"],
  ["TRUNCATE TABLE", "TRUNCATE TABLE dbo.t", "DELETE FROM t"],
  ["INSERT without INTO, DELETE without FROM", "INSERT t (a) VALUES (1)", "INSERT INTO t (a) VALUES (1)"],
  ["… but not in foreign key actions", "ALTER TABLE c ADD p INT REFERENCES p (id) ON DELETE NO ACTION",
    "ALTER TABLE c ADD p INT REFERENCES p (id) ON DELETE NO ACTION"],
  ["table hints dropped", "SELECT a FROM t WITH (NOLOCK) JOIN u WITH (INDEX(ix), ROWLOCK) ON 1 = 1",
    "SELECT a FROM t JOIN u ON 1 = 1"],
  ["DROP INDEX … ON t", "DROP INDEX ix ON dbo.t", "DROP INDEX ix"],
  ["DROP INDEX t.ix", "DROP INDEX IF EXISTS t.ix", "DROP INDEX IF EXISTS ix"],
  ["TOP n", "SELECT TOP 3 a FROM t ORDER BY a DESC", "SELECT a FROM t ORDER BY a DESC LIMIT 3"],
  ["TOP (n) with DISTINCT", "SELECT DISTINCT TOP (2) a FROM t", "SELECT DISTINCT a FROM t LIMIT (2)"],
  ["TOP in a subquery applies to it", "SELECT a FROM t WHERE a IN (SELECT TOP 1 b FROM u ORDER BY b) ORDER BY a",
    "SELECT a FROM t WHERE a IN (SELECT b FROM u ORDER BY b LIMIT 1) ORDER BY a"],
  ["TOP in a CTE and in the main query", "WITH c AS (SELECT TOP 5 a FROM t) SELECT TOP 1 a FROM c;",
    "WITH c AS (SELECT a FROM t LIMIT 5) SELECT a FROM c LIMIT 1"],
  ["TOP in a UNION member", "SELECT TOP 1 a FROM t UNION ALL SELECT TOP 2 b FROM u ORDER BY 1",
    "SELECT * FROM (SELECT a FROM t LIMIT 1) UNION ALL SELECT * FROM (SELECT b FROM u LIMIT 2) ORDER BY 1"],
  ["INSERT … SELECT TOP", "INSERT INTO t2 SELECT TOP 2 a FROM t", "INSERT INTO t2 SELECT a FROM t LIMIT 2"],
  ["OFFSET … FETCH", "SELECT a FROM t ORDER BY a OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY",
    "SELECT a FROM t ORDER BY a LIMIT 5 OFFSET 10"],
  ["OFFSET without FETCH", "SELECT a FROM t ORDER BY a OFFSET 2 ROWS", "SELECT a FROM t ORDER BY a LIMIT -1 OFFSET 2"],
  ["GETDATE() / SYSDATETIME() / CURRENT_TIMESTAMP", "SELECT GETDATE() AS a, SYSDATETIME() b, CURRENT_TIMESTAMP AS c",
    `SELECT ${now} AS a, ${now} b, ${now} AS c`],
  ["GETUTCDATE() in a DEFAULT", "CREATE TABLE t (a DATETIME2 DEFAULT GETUTCDATE(), b DATETIME DEFAULT (getdate()))",
    `CREATE TABLE t (a DATETIME2 DEFAULT ${utcNow}, b DATETIME DEFAULT (${now}))`],
  ["0x binary literal", "INSERT INTO t VALUES (0x0102FF, 0xABC, 0x)", "INSERT INTO t VALUES (X'0102FF', X'0ABC', X'')"],
  ["ISNULL", "SELECT ISNULL(a, 0) AS a FROM t", "SELECT ifnull(a, 0) AS a FROM t"],
  ["LEN ignores trailing blanks", "SELECT LEN(a + 'x') AS n FROM t", "SELECT length(rtrim(a || 'x')) AS n FROM t"],
  ["DB_ID() / DB_NAME()", "SELECT DB_ID() AS i, DB_NAME() AS n, DB_NAME(5) AS m, DB_ID(N'Shop') AS j",
    "SELECT 5 AS i, 'shop' AS n, 'shop' AS m, 5 AS j"],
  ["OBJECT_ID", "SELECT OBJECT_ID('dbo.t') AS a, OBJECT_ID(N'[v]', 'V') AS b, OBJECT_ID('p', 'P') AS c",
    "SELECT (SELECT rowid FROM sqlite_schema WHERE type IN ('table', 'view', 'trigger') AND name = 't' COLLATE NOCASE) AS a, "
    + "(SELECT rowid FROM sqlite_schema WHERE type IN ('view') AND name = 'v' COLLATE NOCASE) AS b, NULL AS c"],
  ["SCOPE_IDENTITY() and @@IDENTITY", "SELECT SCOPE_IDENTITY() AS a, @@IDENTITY AS b", "SELECT 41 AS a, 41 AS b"],
  ["session @@variables", "SELECT @@ROWCOUNT AS r, @@TRANCOUNT AS t, @@SPID AS s, @@SERVERNAME AS n, @@version AS v",
    "SELECT 3 AS r, 1 AS t, 52 AS s, 'HOST_A' AS n, 'Microsoft SQL Server 2022 (mirrorlite)' AS v"],
  ["+ next to a string literal concatenates its chain", "SELECT 'a' + b + c.d + f(x) AS s, 1 + 2 AS n FROM t",
    "SELECT 'a' || b || c.d || f(x) AS s, 1 + 2 AS n FROM t"],
  ["+ chain ending in a literal", "SELECT a + (b) + N'!' AS s FROM t", "SELECT a || (b) || '!' AS s FROM t"],
  ["sys.* catalog views", "SELECT d.name FROM master.sys.databases AS d JOIN [sys].[database_mirroring] m ON m.database_id = d.database_id WHERE sys.databases.name = 'x'",
    "SELECT d.name FROM \"sys.databases\" AS d JOIN \"sys.database_mirroring\" m ON m.database_id = d.database_id WHERE \"sys.databases\".name = 'x'"],
  ["msdb backup history", "SELECT * FROM msdb.dbo.backupset", "SELECT * FROM \"msdb.dbo.backupset\""],
  ["dbo and the current database are dropped", "SELECT shop.dbo.t.a, dbo.t.b FROM [Shop].[dbo].[t] JOIN shop..u ON 1 = 1",
    "SELECT t.a, t.b FROM \"t\" JOIN u ON 1 = 1"],
  ["unaliased expressions are named \"\"", "SELECT @@VERSION", "SELECT 'Microsoft SQL Server 2022 (mirrorlite)' AS \"\""],
  ["columns keep their names", "SELECT *, t.*, a, t.b, [c], 1 AS one, 2 two, COUNT(*) [n], x = a + 1, 'y' = 2, 3 FROM t",
    "SELECT *, t.*, a, t.b, \"c\", 1 AS one, 2 two, COUNT(*) \"n\", a + 1 AS \"x\", 2 AS \"y\", 3 AS \"\" FROM t"],
  ["CASE … END and NULL are expressions", "SELECT CASE WHEN a = 1 THEN 'x' END, NULL FROM t",
    "SELECT CASE WHEN a = 1 THEN 'x' END AS \"\", NULL AS \"\" FROM t"],
  ["only the main query is named", "WITH c AS (SELECT a + 1 AS b FROM t) SELECT b, b * 2 FROM c WHERE b IN (SELECT 1)",
    "WITH c AS (SELECT a + 1 AS b FROM t) SELECT b, b * 2 AS \"\" FROM c WHERE b IN (SELECT 1)"],
  ["INSERT … SELECT is not a query", "INSERT INTO t (a) SELECT 1 + 1", "INSERT INTO t (a) SELECT 1 + 1"],
];

for (const [rule, tsql, sqlite] of rewrites) {
  test(`rewriteData(): ${rule}`, () => {
    assert.equal(rewrite(tsql), sqlite);
  });
}

test("rewriteData(): NULL identity, and names quoted in session literals", () => {
  const session = { ...context, identity: null, serverName: "O'Brien", databaseName: "it's" };
  assert.equal(rewrite("SELECT SCOPE_IDENTITY() AS i, @@SERVERNAME AS s, DB_NAME() AS d", session),
    "SELECT NULL AS i, 'O''Brien' AS s, 'it''s' AS d");
  assert.equal(rewrite("SELECT @@IDENTITY AS i", { ...context, identity: 9007199254740993n }),
    "SELECT 9007199254740993 AS i");
});

test("rewriteData(): context-dependent refusals happen at rewrite time", () => {
  const [other] = parseBatch("\nSELECT * FROM sales.dbo.orders") as [DataStatement];
  assertError(() => rewriteData(other, context), 40515, 2,
    "Reference to database and/or server name in 'sales.dbo.orders' is not supported in this version of SQL Server.");
  const [name] = parseBatch("SELECT DB_NAME(1) AS n") as [DataStatement];
  assertError(() => rewriteData(name, context), 40517, 1);
  const [id] = parseBatch("SELECT DB_ID('master') AS n") as [DataStatement];
  assertError(() => rewriteData(id, context), 40517, 1);
});

// ---------------------------------------------------------------------------------------
// The rewritten statements run in SQLite

/** Runs every statement of a T-SQL batch in `db`; returns the rows of the last query. */
function run(db: Database.Database, batch: string, session: RewriteContext = context): unknown[] {
  let rows: unknown[] = [];
  for (const statement of parseBatch(batch)) {
    assert.equal(statement.kind, "data", statement.text);
    const prepared = db.prepare(rewriteData(statement as DataStatement, session));
    if (prepared.reader) rows = prepared.all();
    else prepared.run();
  }
  return rows;
}

test("rewritten T-SQL runs in SQLite: a realistic script", () => {
  const db = new Database(":memory:");
  run(db, `
    CREATE TABLE [dbo].[customers] (
      [id] INT IDENTITY(1,1) PRIMARY KEY,
      [name] NVARCHAR(MAX) NOT NULL,
      [city] NVARCHAR(50) NULL,
      [created] DATETIME2 NOT NULL DEFAULT GETDATE()
    )
    INSERT INTO dbo.customers (name, city) VALUES (N'Zoë  ', N'Paris')
    INSERT INTO dbo.customers (name, city) VALUES (N'Anna', NULL), (N'O''Neil', N'Cork')
    INSERT INTO customers (name) SELECT TOP 1 name + N' jr' FROM customers ORDER BY id DESC`);
  const top = run(db, "SELECT TOP 3 id, name, ISNULL(city, N'?') AS city, LEN(name) AS len FROM dbo.customers ORDER BY name");
  assert.deepEqual(top, [
    { id: 2, name: "Anna", city: "?", len: 4 },
    { id: 3, name: "O'Neil", city: "Cork", len: 6 },
    { id: 4, name: "O'Neil jr", city: "?", len: 9 },
  ]);
  const statement = db.prepare(rewrite("SELECT name, @@VERSION, DB_NAME() AS db FROM customers"));
  assert.deepEqual(statement.columns().map((column) => [column.name, column.type]),
    [["name", "NVARCHAR(2147483647)"], ["", null], ["db", null]]);
  const [created] = run(db, "SELECT created, GETDATE() AS now FROM customers WHERE id = 1") as
    Array<{ created: string; now: string }>;
  assert.match(created!.created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
  assert.ok(created!.now >= created!.created);
  assert.deepEqual(run(db, "SELECT COUNT(*) FROM customers WHERE OBJECT_ID('dbo.customers', 'U') IS NOT NULL"),
    [{ "": 4 }]);
  db.close();
});

test("rewritten T-SQL runs in SQLite: IDENTITY numbering, TRUNCATE, OFFSET and concatenation", () => {
  const db = new Database(":memory:");
  run(db, `CREATE TABLE t (id INT IDENTITY(1,1) NOT NULL, v NVARCHAR(20), CONSTRAINT pk PRIMARY KEY CLUSTERED (id))
    INSERT t (v) VALUES (N'a'), (N'b'), (N'c')
    DELETE FROM t WHERE id = 3
    INSERT t (v) VALUES (N'd')`);
  assert.deepEqual(run(db, "SELECT id, v + N'!' AS s FROM t ORDER BY id OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY"),
    [{ id: 2, s: "b!" }, { id: 4, s: "d!" }]);
  run(db, "TRUNCATE TABLE t");
  assert.deepEqual(run(db, "SELECT COUNT(*) AS n FROM t"), [{ n: 0 }]);
  assert.deepEqual(run(db, "SELECT TOP 1 x FROM (SELECT 1 AS x UNION ALL SELECT 2) s ORDER BY x DESC"), [{ x: 2 }]);
  db.close();
});
