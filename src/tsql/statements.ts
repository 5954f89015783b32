// The typed statements a batch parses into. The server dispatches on `kind`; only `data`
// statements reach SQLite (after rewrite.ts), everything else is the server's own work.

import type { Token } from "./lexer.js";

interface StatementBase {
  /** 1-based batch line where the statement's first token starts. */
  line: number;
  /** The statement's source text, from its first token to its last (no trailing ';'). */
  text: string;
}

/** CREATE DATABASE name (no file, collation or containment options). */
export interface CreateDatabase extends StatementBase { kind: "createDatabase"; name: string }

/** DROP DATABASE [IF EXISTS] a [, b …]. */
export interface DropDatabase extends StatementBase {
  kind: "dropDatabase";
  names: string[];
  ifExists: boolean;
}

export type RecoveryModel = "FULL" | "SIMPLE" | "BULK_LOGGED";

/** ALTER DATABASE {name | CURRENT} SET RECOVERY model [WITH termination]. */
export interface AlterDatabaseSetRecovery extends StatementBase {
  kind: "alterDatabaseSetRecovery";
  /** null means CURRENT, the session's database. */
  name: string | null;
  model: RecoveryModel;
}

/**
 * Any other ALTER DATABASE … SET form (PARTNER, WITNESS, SINGLE_USER, …), kept generic for the
 * subsystems that implement them: `option` is the upper-cased word after SET, `tokens` the
 * significant tokens after it up to the end of the statement, `rest` their source text.
 */
export interface AlterDatabaseOther extends StatementBase {
  kind: "alterDatabaseOther";
  name: string | null;
  option: string;
  rest: string;
  tokens: Token[];
}

export interface Use extends StatementBase { kind: "use"; database: string }

/**
 * SET option[, option …] value. `options` are upper-cased names ("ANSI_NULLS",
 * "STATISTICS IO"); `option` is options[0], the only one except in `SET a, b, c ON` lists.
 * `value`: ON/OFF and keyword values upper-cased, numbers as written (with a leading '-'),
 * strings unquoted, LANGUAGE names and DATEFORMAT strings as written.
 * `target` is IDENTITY_INSERT's table name, null for every other option.
 */
export interface SetOption extends StatementBase {
  kind: "setOption";
  option: string;
  options: string[];
  value: string;
  target: string | null;
}

/** SET LOCK_TIMEOUT ms: -1 waits forever (the default), 0 never waits. */
export interface SetLockTimeout extends StatementBase { kind: "setLockTimeout"; ms: number }

export type IsolationLevel =
  | "READ UNCOMMITTED" | "READ COMMITTED" | "REPEATABLE READ" | "SNAPSHOT" | "SERIALIZABLE";

export interface SetTransactionIsolationLevel extends StatementBase {
  kind: "setTransactionIsolationLevel";
  level: IsolationLevel;
}

/** BEGIN TRAN[SACTION] [name] [WITH MARK ['description']]. */
export interface BeginTransaction extends StatementBase { kind: "beginTransaction"; name: string | null }

/** COMMIT [TRAN[SACTION] [name]] | COMMIT WORK. SQL Server ignores the name. */
export interface CommitTransaction extends StatementBase { kind: "commitTransaction"; name: string | null }

/**
 * ROLLBACK [TRAN[SACTION] [name]] | ROLLBACK WORK. `savepoint` is the name as written: the
 * server decides whether it names a savepoint or the outermost BEGIN TRAN (whole rollback).
 */
export interface RollbackTransaction extends StatementBase {
  kind: "rollbackTransaction";
  savepoint: string | null;
}

/** SAVE TRAN[SACTION] name. */
export interface SaveTransaction extends StatementBase { kind: "saveTransaction"; name: string }

/**
 * A statement SQLite runs after rewrite.ts: SELECT, INSERT, UPDATE, DELETE, WITH, VALUES,
 * CREATE/DROP TABLE|INDEX|VIEW|TRIGGER, ALTER TABLE, TRUNCATE TABLE.
 * `tokens` run from the first to the last significant token, whitespace and comments
 * included; `catalogViews` are the lower-cased catalog objects referenced ("databases" for
 * sys.databases, "msdb.dbo.backupset"), which the server serves from its catalog.
 */
export interface DataStatement extends StatementBase {
  kind: "data";
  tokens: Token[];
  catalogViews: string[];
}

/**
 * BACKUP, RESTORE, logins, users, certificates, master keys, endpoints, GRANT/REVOKE/DENY
 * and sp_dbmmonitor* procedures: parsed only far enough to find where they end. `verb` is
 * the upper-cased leading words ("BACKUP DATABASE", "CREATE MASTER KEY", "GRANT",
 * "EXECUTE sp_dbmmonitorresults"); `tokens` are the significant tokens of the statement.
 */
export interface AdminStatement extends StatementBase {
  kind: "admin";
  verb: string;
  tokens: Token[];
}

/** PRINT expression: the server evaluates `expression` (a data statement's tokens) and sends INFO. */
export interface Print extends StatementBase { kind: "print"; expression: DataStatement }

/**
 * RAISERROR (message, severity, state [, argument …]) [WITH LOG | NOWAIT | SETERROR …].
 * Each of message, severity, state and the arguments is one literal or parameter token
 * (a leading '-' folded into a number token's text).
 */
export interface Raiserror extends StatementBase {
  kind: "raiserror";
  message: Token;
  severity: Token;
  state: Token;
  args: Token[];
  options: string[];
}

export type Statement =
  | CreateDatabase | DropDatabase | AlterDatabaseSetRecovery | AlterDatabaseOther | Use
  | SetOption | SetLockTimeout | SetTransactionIsolationLevel
  | BeginTransaction | CommitTransaction | RollbackTransaction | SaveTransaction
  | DataStatement | AdminStatement | Print | Raiserror;

export type StatementKind = Statement["kind"];
