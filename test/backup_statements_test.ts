// The BACKUP/RESTORE statement parser (src/tsql/backup_statements.ts): every form of the
// mirroring setup (spec/mirroring.md §6.2), each WITH option, and each refusal with its
// error number: 102/156 syntax, 40517 unsupported, 3032 misplaced or conflicting options.

import { assertThrowsSql, pick } from "./support/sql_errors.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBatch } from "../src/tsql/parser.js";
import { parseBackupStatement, type BackupCommand, type RestoreCommand } from "../src/tsql/backup_statements.js";
import { errorLine } from "../src/tsql/errors.js";
import type { AdminStatement } from "../src/tsql/statements.js";
import { SqlError } from "../src/errors/sql_error.js";

/** The one statement of `sql` (the batch parser delimits it), parsed as BACKUP/RESTORE. */
function parse(sql: string): BackupCommand | RestoreCommand {
  const statements = parseBatch(sql);
  assert.equal(statements.length, 1, `one statement in ${sql}`);
  assert.equal(statements[0]!.kind, "admin");
  return parseBackupStatement(statements[0] as AdminStatement);
}

function backup(sql: string): BackupCommand {
  const command = parse(sql);
  assert.equal(command.kind, "backup");
  return command as BackupCommand;
}

function restore(sql: string): RestoreCommand {
  const command = parse(sql);
  assert.equal(command.kind, "restore");
  return command as RestoreCommand;
}

/** Asserts that parsing `sql` throws SqlError `number` (and `message`, `line` if given). */
function assertError(sql: string, number: number, message?: string, line?: number): void {
  assertThrowsSql(() => parse(sql), sql, number, message, line);
}

const bak = String.raw`C:\AdventureWorks.bak`;

// ---------------------------------------------------------------------------------------
// The mirroring setup of spec §6.2, in order

test("§6.2 step 2: BACKUP DATABASE … WITH FORMAT, every field", () => {
  assert.deepEqual(backup(String.raw`BACKUP DATABASE AdventureWorks TO DISK = 'C:\AdventureWorks.bak' WITH FORMAT`), {
    kind: "backup", target: "DATABASE", database: "AdventureWorks", devices: [{ path: bak }],
    differential: false, copyOnly: false, init: false, format: true, skip: false,
    name: null, description: null, mediaName: null, mediaDescription: null,
    checksum: false, compression: null, stats: null, noRecovery: false, noTruncate: false,
    continueAfterError: false, line: 1,
  });
});

test("§6.2 step 4: RESTORE DATABASE … WITH NORECOVERY, every field", () => {
  assert.deepEqual(restore(String.raw`RESTORE DATABASE AdventureWorks FROM DISK = 'C:\AdventureWorks.bak' WITH NORECOVERY`), {
    kind: "restore", target: "DATABASE", database: "AdventureWorks", devices: [{ path: bak }],
    recovery: false, replace: false, file: null, moves: [], stats: null, stopAt: null,
    checksum: null, continueAfterError: false, loadHistory: false, mediaName: null, line: 1,
  });
});

test("§6.2 step 4 with MOVE twice: both clauses, in order", () => {
  const command = restore(String.raw`RESTORE DATABASE AdventureWorks FROM DISK = 'C:\AdventureWorks.bak'
    WITH NORECOVERY,
      MOVE 'AdventureWorks_Data' TO 'D:\Data\AdventureWorks_Data.mdf',
      MOVE N'AdventureWorks_Log' TO N'D:\Data\AdventureWorks_Log.ldf'`);
  assert.equal(command.recovery, false);
  assert.deepEqual(command.moves, [
    { logicalName: "AdventureWorks_Data", physicalName: String.raw`D:\Data\AdventureWorks_Data.mdf` },
    { logicalName: "AdventureWorks_Log", physicalName: String.raw`D:\Data\AdventureWorks_Log.ldf` },
  ]);
});

test("§6.2 step 5: BACKUP LOG with no WITH", () => {
  assert.deepEqual(pick(backup(String.raw`BACKUP LOG AdventureWorks TO DISK = 'C:\AdventureWorks.bak'`),
    { target: "", database: "", devices: [], init: true, noRecovery: true }),
  { target: "LOG", database: "AdventureWorks", devices: [{ path: bak }], init: false, noRecovery: false });
});

test("§6.2 step 6: RESTORE LOG … WITH FILE=1, NORECOVERY and FILE=2", () => {
  for (const file of [1, 2]) {
    const command = restore(String.raw`RESTORE LOG AdventureWorks FROM DISK = 'C:\AdventureWorks.bak' WITH FILE=${file}, NORECOVERY`);
    assert.deepEqual(pick(command, { target: "", database: "", file: 0, recovery: true }),
      { target: "LOG", database: "AdventureWorks", file, recovery: false });
  }
});

test("recovery only: RESTORE DATABASE db WITH RECOVERY, RESTORE DATABASE db, RESTORE LOG db", () => {
  for (const [sql, target] of [["RESTORE DATABASE AdventureWorks WITH RECOVERY", "DATABASE"],
    ["RESTORE DATABASE AdventureWorks", "DATABASE"], ["restore log AdventureWorks with recovery", "LOG"]]) {
    assert.deepEqual(pick(restore(sql!), { target: "", database: "", devices: null, recovery: false }),
      { target, database: "AdventureWorks", devices: [], recovery: true }, sql);
  }
});

test("BACKUP LOG … WITH NORECOVERY, NO_TRUNCATE: the tail-log backup", () => {
  assert.deepEqual(pick(backup("BACKUP LOG shop TO DISK = 'tail.trn' WITH NORECOVERY, NO_TRUNCATE"),
    { noRecovery: false, noTruncate: false }), { noRecovery: true, noTruncate: true });
});

// ---------------------------------------------------------------------------------------
// Options and values

test("BACKUP: every flag and value, case-insensitive, N'' strings", () => {
  const command = backup(`backup database shop to disk = N'shop.bak'
    with Differential, copy_only, INIT, skip, Checksum, compression, stats, continue_after_error,
      NAME = N'Full', DESCRIPTION = 'nightly', MEDIANAME = N'set1', MEDIADESCRIPTION = N'disk set'`);
  assert.deepEqual(command, {
    kind: "backup", target: "DATABASE", database: "shop", devices: [{ path: "shop.bak" }],
    differential: true, copyOnly: true, init: true, format: false, skip: true,
    name: "Full", description: "nightly", mediaName: "set1", mediaDescription: "disk set",
    checksum: true, compression: true, stats: 10, noRecovery: false, noTruncate: false,
    continueAfterError: true, line: 1,
  });
});

test("BACKUP: the negative forms leave the flags false; NO_COMPRESSION is compression false", () => {
  const command = backup("BACKUP DATABASE shop TO DISK = 'a' WITH NOINIT, NOSKIP, NOFORMAT, NO_CHECKSUM, NO_COMPRESSION, STOP_ON_ERROR");
  assert.deepEqual(pick(command, { init: true, skip: true, format: true, checksum: true, compression: null, continueAfterError: true }),
    { init: false, skip: false, format: false, checksum: false, compression: false, continueAfterError: false });
});

test("STATS alone is 10, STATS = n is n (1 and 100 are the bounds)", () => {
  assert.equal(backup("BACKUP DATABASE a TO DISK = 'a' WITH STATS").stats, 10);
  assert.equal(backup("BACKUP DATABASE a TO DISK = 'a' WITH STATS = 5").stats, 5);
  assert.equal(backup("BACKUP DATABASE a TO DISK = 'a' WITH STATS=1").stats, 1);
  assert.equal(restore("RESTORE DATABASE a FROM DISK = 'a' WITH STATS = 100").stats, 100);
  assert.equal(restore("RESTORE VERIFYONLY FROM DISK = 'a' WITH STATS").stats, 10);
});

test("COMPRESSION (ALGORITHM = name) is accepted; the algorithm is ignored", () => {
  assert.equal(backup("BACKUP DATABASE a TO DISK = 'a' WITH COMPRESSION (ALGORITHM = MS_XPRESS), INIT").compression, true);
});

test("names as identifiers: [quoted] database, NAME and MEDIANAME words", () => {
  const command = backup("BACKUP DATABASE [Adventure Works] TO DISK = 'a' WITH NAME = Full_1, MEDIANAME = [media set]");
  assert.deepEqual(pick(command, { database: "", name: "", mediaName: "" }),
    { database: "Adventure Works", name: "Full_1", mediaName: "media set" });
  assert.equal(restore("RESTORE DATABASE [a]]b] FROM DISK = 'a'").database, "a]b");
  assert.equal(restore("RESTORE DATABASE \"q\" FROM DISK = 'a'").database, "q");
});

test("several devices are all returned (the executor refuses more than one), NUL is a path", () => {
  assert.deepEqual(backup("BACKUP DATABASE a TO DISK = 'a.bak', DISK = N'b.bak' WITH FORMAT").devices,
    [{ path: "a.bak" }, { path: "b.bak" }]);
  assert.deepEqual(backup("BACKUP LOG a TO DISK = 'NUL'").devices, [{ path: "NUL" }]);
  assert.deepEqual(restore("RESTORE HEADERONLY FROM DISK = 'a', DISK = 'b'").devices, [{ path: "a" }, { path: "b" }]);
});

test("RESTORE: every field set", () => {
  const command = restore(`RESTORE DATABASE shop FROM DISK = 'shop.bak' WITH REPLACE, FILE = 3, NORECOVERY,
    MOVE 'd' TO 'x.mdf', STATS = 20, STOPAT = N'2024-05-01T12:00:00', CHECKSUM, CONTINUE_AFTER_ERROR, MEDIANAME = 'm'`);
  assert.deepEqual(command, {
    kind: "restore", target: "DATABASE", database: "shop", devices: [{ path: "shop.bak" }],
    recovery: false, replace: true, file: 3, moves: [{ logicalName: "d", physicalName: "x.mdf" }],
    stats: 20, stopAt: "2024-05-01T12:00:00", checksum: true, continueAfterError: true,
    loadHistory: false, mediaName: "m", line: 1,
  });
  assert.equal(restore("RESTORE LOG shop FROM DISK = 'a' WITH NO_CHECKSUM").checksum, false);
  assert.equal(restore("RESTORE LOG shop FROM DISK = 'a' WITH STOPAT = '2024-05-01 12:00'").stopAt, "2024-05-01 12:00");
});

test("RESTORE HEADERONLY / FILELISTONLY / LABELONLY / VERIFYONLY: no database", () => {
  for (const target of ["HEADERONLY", "FILELISTONLY", "LABELONLY", "VERIFYONLY"] as const) {
    const command = restore(`RESTORE ${target} FROM DISK = N'x.bak'`);
    assert.deepEqual(pick(command, { target: "", database: "", devices: [], recovery: false }),
      { target, database: null, devices: [{ path: "x.bak" }], recovery: true });
  }
  assert.equal(restore("RESTORE HEADERONLY FROM DISK = 'x' WITH FILE = 2, NO_CHECKSUM").file, 2);
  const verify = restore("RESTORE VERIFYONLY FROM DISK = 'x' WITH LOADHISTORY, FILE = 1, MOVE 'a' TO 'b', CHECKSUM");
  assert.deepEqual(pick(verify, { loadHistory: false, file: 0, checksum: null }), { loadHistory: true, file: 1, checksum: true });
  assert.deepEqual(verify.moves, [{ logicalName: "a", physicalName: "b" }]);
});

test("MOVE is allowed on RESTORE LOG", () => {
  assert.equal(restore("RESTORE LOG shop FROM DISK = 'a' WITH MOVE 'a' TO 'b', NORECOVERY").moves.length, 1);
});

// Accept-and-ignore: each parses on the statements that take it.
const ignored: ReadonlyArray<[sql: string]> = [
  ["BACKUP DATABASE a TO DISK = 'a' WITH BLOCKSIZE = 65536, BUFFERCOUNT = 50, MAXTRANSFERSIZE = 4194304"],
  ["BACKUP DATABASE a TO DISK = 'a' WITH EXPIREDATE = '2030-01-01', RESTART, REWIND, UNLOAD"],
  ["BACKUP LOG a TO DISK = 'a' WITH RETAINDAYS = 7, NOREWIND, NOUNLOAD"],
  ["RESTORE DATABASE a FROM DISK = 'a' WITH RESTRICTED_USER, KEEP_REPLICATION, KEEP_CDC, RESTART"],
  ["RESTORE DATABASE a FROM DISK = 'a' WITH ENABLE_BROKER"],
  ["RESTORE DATABASE a FROM DISK = 'a' WITH NEW_BROKER"],
  ["RESTORE DATABASE a FROM DISK = 'a' WITH ERROR_BROKER_CONVERSATIONS, BLOCKSIZE = 512"],
  ["RESTORE LOG a FROM DISK = 'a' WITH KEEP_REPLICATION, BUFFERCOUNT = 10, MAXTRANSFERSIZE = 65536, REWIND, NOUNLOAD"],
  ["RESTORE FILELISTONLY FROM DISK = 'a' WITH MEDIANAME = 'm', BLOCKSIZE = 512, NOREWIND, UNLOAD, STOP_ON_ERROR"],
  ["RESTORE LABELONLY FROM DISK = 'a' WITH MEDIANAME = 'm', CHECKSUM, CONTINUE_AFTER_ERROR"],
  ["RESTORE VERIFYONLY FROM DISK = 'a' WITH BUFFERCOUNT = 10, MAXTRANSFERSIZE = 65536, STATS = 5"],
];

for (const [sql] of ignored) {
  test(`accepted and ignored: ${sql}`, () => {
    assert.doesNotThrow(() => parse(sql));
  });
}

test("the statement ends before ';' and the next statement", () => {
  const statements = parseBatch("BACKUP DATABASE a TO DISK = 'a' WITH INIT; SELECT 1");
  assert.equal(statements.length, 2);
  assert.equal((parseBackupStatement(statements[0] as AdminStatement) as BackupCommand).init, true);
});

test("line is the statement's first batch line", () => {
  const statements = parseBatch("SELECT 1\n\nRESTORE DATABASE a\n  FROM DISK = 'a'");
  assert.equal(parseBackupStatement(statements[1] as AdminStatement).line, 3);
});

// ---------------------------------------------------------------------------------------
// Refusals

const syntaxErrors: ReadonlyArray<[sql: string, number: number, message?: string]> = [
  ["BACKUP DATABASE", 156, "Incorrect syntax near the keyword 'DATABASE'."],
  ["BACKUP DATABASE db", 102, "Incorrect syntax near 'db'."],
  ["BACKUP DATABASE TO DISK = 'a'", 156, "Incorrect syntax near the keyword 'TO'."],
  ["BACKUP DATABASE db TO", 156],
  ["BACKUP DATABASE db TO DISK", 156, "Incorrect syntax near the keyword 'DISK'."],
  ["BACKUP DATABASE db TO DISK =", 102, "Incorrect syntax near '='."],
  ["BACKUP DATABASE db TO DISK = 5", 102, "Incorrect syntax near '5'."],
  ["BACKUP DATABASE db TO 'a.bak'", 102, "Incorrect syntax near ''a.bak''."],
  ["BACKUP DATABASE db TO DISK = 'a' WITH", 156, "Incorrect syntax near the keyword 'WITH'."],
  ["BACKUP DATABASE db TO DISK = 'a' WITH INIT,", 102, "Incorrect syntax near ','."],
  ["BACKUP DATABASE db TO DISK = 'a' WITH FOO", 102, "Incorrect syntax near 'FOO'."],
  ["BACKUP DATABASE db TO DISK = 'a' WITH TRUNCATE_ONLY", 102],
  ["BACKUP DATABASE db TO DISK = 'a' WITH TABLE", 156],
  ["BACKUP DATABASE db TO DISK = 'a' INIT", 102, "Incorrect syntax near 'INIT'."],
  ["BACKUP DATABASE db TO DISK = 'a' WITH INIT CHECKSUM", 102, "Incorrect syntax near 'CHECKSUM'."],
  ["BACKUP DATABASE db TO DISK = 'a' WITH NAME", 102, "Incorrect syntax near 'NAME'."],
  ["BACKUP DATABASE db TO DISK = 'a' WITH DESCRIPTION = desc_word", 102],
  ["BACKUP DATABASE db TO DISK = 'a' WITH STATS = 0", 102, "Incorrect syntax near '0'."],
  ["BACKUP DATABASE db TO DISK = 'a' WITH STATS = 101", 102],
  ["BACKUP DATABASE db TO DISK = 'a' WITH STATS = '10'", 102],
  ["BACKUP DATABASE db TO DISK = 'a' WITH STATS = 2.5", 102],
  ["BACKUP DATABASE db TO DISK = 'a' WITH COMPRESSION (LEVEL = 1)", 102],
  ["BACKUP DATABASE db TO DISK = 'a' WITH COMPRESSION (ALGORITHM = MS_XPRESS", 102],
  ["BACKUP CERTIFICATE c TO FILE = 'c.cer'", 102, "Incorrect syntax near 'CERTIFICATE'."],
  ["RESTORE DATABASE db FROM DISK = 'a' WITH FILE = 0", 102, "Incorrect syntax near '0'."],
  ["RESTORE DATABASE db FROM DISK = 'a' WITH FILE = -1", 102, "Incorrect syntax near '-'."],
  ["RESTORE DATABASE db FROM DISK = 'a' WITH MOVE 'a' 'b'", 102, "Incorrect syntax near ''b''."],
  ["RESTORE DATABASE db FROM DISK = 'a' WITH MOVE 'a' TO", 156],
  ["RESTORE DATABASE db FROM", 156, "Incorrect syntax near the keyword 'FROM'."],
  ["RESTORE DATABASE db DISK = 'a'", 156],
  ["RESTORE HEADERONLY", 102, "Incorrect syntax near 'HEADERONLY'."],
  ["RESTORE HEADERONLY WITH FILE = 1", 156, "Incorrect syntax near the keyword 'WITH'."],
  ["RESTORE SOMETHING FROM DISK = 'a'", 102, "Incorrect syntax near 'SOMETHING'."],
];

for (const [sql, number, message] of syntaxErrors) {
  test(`syntax error ${number}: ${sql}`, () => assertError(sql, number, message));
}

test("a syntax error carries the line of its token", () => {
  assertError("BACKUP DATABASE db\nTO DISK = 'a'\nWITH INIT,\n  FOO", 102, "Incorrect syntax near 'FOO'.", 4);
});

const unsupportedForms: ReadonlyArray<[sql: string, construct: string]> = [
  ["BACKUP DATABASE @db TO DISK = 'a'", "@db"],
  ["RESTORE LOG @db FROM DISK = 'a'", "@db"],
  ["BACKUP DATABASE db TO DISK = @path", "@path"],
  ["BACKUP DATABASE db TO @device", "@device"],
  ["BACKUP DATABASE db TO mydevice", "logical backup device mydevice"],
  ["RESTORE DATABASE db FROM [my device] WITH NORECOVERY", "logical backup device [my device]"],
  ["BACKUP DATABASE db TO TAPE = '\\\\.\\tape0'", "TAPE"],
  ["BACKUP DATABASE db TO URL = 'https://acct.blob.core.windows.net/c/db.bak'", "URL"],
  ["BACKUP DATABASE db TO DISK = 'a' MIRROR TO DISK = 'b' WITH FORMAT", "MIRROR TO"],
  ["BACKUP DATABASE db FILE = 'db_data' TO DISK = 'a'", "FILE"],
  ["BACKUP DATABASE db FILEGROUP = 'PRIMARY' TO DISK = 'a'", "FILEGROUP"],
  ["BACKUP DATABASE db READ_WRITE_FILEGROUPS TO DISK = 'a'", "READ_WRITE_FILEGROUPS"],
  ["RESTORE DATABASE db FILEGROUP = 'PRIMARY' FROM DISK = 'a'", "FILEGROUP"],
  ["RESTORE LOG db PAGE = '1:57' FROM DISK = 'a'", "PAGE"],
  ["RESTORE DATABASE db FROM DATABASE_SNAPSHOT = 'db_snap'", "DATABASE_SNAPSHOT"],
  ["RESTORE REWINDONLY FROM TAPE = 'x'", "RESTORE REWINDONLY"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH PASSWORD = 'p'", "PASSWORD"],
  ["RESTORE HEADERONLY FROM DISK = 'a' WITH MEDIAPASSWORD = 'p'", "MEDIAPASSWORD"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = c)", "ENCRYPTION"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH CREDENTIAL", "CREDENTIAL"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH FILE_SNAPSHOT", "FILE_SNAPSHOT"],
  ["BACKUP LOG db TO DISK = 'a' WITH STANDBY = 'undo.dat'", "STANDBY"],
  ["RESTORE LOG db FROM DISK = 'a' WITH STANDBY = 'undo.dat'", "STANDBY"],
  ["RESTORE LOG db FROM DISK = 'a' WITH STOPATMARK = 'lsn:15000000040000037'", "STOPATMARK"],
  ["RESTORE LOG db FROM DISK = 'a' WITH STOPBEFOREMARK = 'm1'", "STOPBEFOREMARK"],
  ["RESTORE DATABASE db FROM DISK = 'a' WITH STATS = @n", "@n"],
  ["RESTORE DATABASE db FROM DISK = 'a' WITH FILE = @f", "@f"],
  ["RESTORE DATABASE db FROM DISK = 'a' WITH STOPAT = @t", "@t"],
  ["RESTORE DATABASE db FROM DISK = 'a' WITH MOVE @a TO 'b'", "@a"],
];

for (const [sql, construct] of unsupportedForms) {
  test(`unsupported 40517: ${sql}`, () => {
    assertError(sql, 40517, `Keyword or statement option '${construct}' is not supported in this version of SQL Server.`, 1);
  });
}

const misplaced: ReadonlyArray<[sql: string, options: string]> = [
  ["BACKUP LOG db TO DISK = 'a' WITH DIFFERENTIAL", "differential"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH NORECOVERY", "norecovery"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH INIT, NO_TRUNCATE", "no_truncate"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH FILE = 1", "file"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH REPLACE", "replace"],
  ["BACKUP LOG db TO DISK = 'a' WITH RECOVERY", "recovery"],
  ["RESTORE HEADERONLY FROM DISK = 'a' WITH REPLACE, FILE = 1, STOPAT = '2024-01-01'", "replace, stopat"],
  ["RESTORE HEADERONLY FROM DISK = 'a' WITH STATS", "stats"],
  ["RESTORE FILELISTONLY FROM DISK = 'a' WITH MOVE 'a' TO 'b'", "move"],
  ["RESTORE LABELONLY FROM DISK = 'a' WITH FILE = 1", "file"],
  ["RESTORE VERIFYONLY FROM DISK = 'a' WITH NORECOVERY", "norecovery"],
  ["RESTORE DATABASE db FROM DISK = 'a' WITH INIT, FORMAT", "init, format"],
  ["RESTORE DATABASE db FROM DISK = 'a' WITH LOADHISTORY", "loadhistory"],
  ["RESTORE DATABASE db FROM DISK = 'a' WITH DIFFERENTIAL", "differential"],
  ["RESTORE LOG db FROM DISK = 'a' WITH KEEP_CDC", "keep_cdc"],
  ["RESTORE LOG db FROM DISK = 'a' WITH NEW_BROKER", "new_broker"],
];

for (const [sql, names] of misplaced) {
  test(`option on the wrong statement, 3032: ${sql}`, () => {
    assertError(sql, 3032, `One or more of the options (${names}) are not supported for this statement. Review the documentation for supported options.`, 1);
  });
}

const conflicts: ReadonlyArray<[sql: string, options: string]> = [
  ["RESTORE DATABASE db FROM DISK = 'a' WITH RECOVERY, NORECOVERY", "recovery, norecovery"],
  ["RESTORE LOG db WITH NORECOVERY, FILE = 1, recovery", "norecovery, recovery"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH INIT, NOINIT", "init, noinit"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH NOFORMAT, FORMAT", "noformat, format"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH SKIP, NOSKIP", "skip, noskip"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH CHECKSUM, NO_CHECKSUM", "checksum, no_checksum"],
  ["RESTORE VERIFYONLY FROM DISK = 'a' WITH NO_CHECKSUM, CHECKSUM", "no_checksum, checksum"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH COMPRESSION, NO_COMPRESSION", "compression, no_compression"],
  ["BACKUP LOG db TO DISK = 'a' WITH STOP_ON_ERROR, CONTINUE_AFTER_ERROR", "stop_on_error, continue_after_error"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH INIT, INIT", "init, init"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH STATS, STATS = 5", "stats, stats"],
  ["RESTORE LOG db FROM DISK = 'a' WITH FILE = 1, FILE = 2", "file, file"],
  ["BACKUP DATABASE db TO DISK = 'a' WITH NAME = 'a', NAME = 'b'", "name, name"],
];

for (const [sql, names] of conflicts) {
  test(`contradictory or repeated options, 3031: ${sql}`, () => {
    const [first, second] = names.split(", ");
    assertError(sql, 3031, `Option '${second}' conflicts with option(s) '${first}'. Remove the conflicting option and reissue the statement.`, 1);
  });
}

test("precedence: syntax and 40517 before 3032; misplaced options before conflicts", () => {
  assertError("BACKUP DATABASE db TO DISK = 'a' WITH NORECOVERY, FOO", 102);
  assertError("BACKUP DATABASE db TO DISK = 'a' WITH NORECOVERY, PASSWORD = 'p'", 40517);
  assertError("BACKUP DATABASE db TO DISK = 'a' WITH INIT, NOINIT, NORECOVERY", 3032,
    "One or more of the options (norecovery) are not supported for this statement. Review the documentation for supported options.");
});

test("3031 carries the statement's first line", () => {
  const statements = parseBatch("SELECT 1\nRESTORE DATABASE db\n  FROM DISK = 'a'\n  WITH RECOVERY, NORECOVERY");
  assert.throws(() => parseBackupStatement(statements[1] as AdminStatement), (error: unknown) => {
    assert.ok(error instanceof SqlError);
    assert.deepEqual([error.number, errorLine(error)], [3031, 2]);
    return true;
  });
});

test("DIFFERENTIAL with COPY_ONLY reports both (the executor ignores COPY_ONLY)", () => {
  const command = backup("BACKUP DATABASE db TO DISK = 'a' WITH DIFFERENTIAL, COPY_ONLY");
  assert.deepEqual(pick(command, { differential: false, copyOnly: false }), { differential: true, copyOnly: true });
});
