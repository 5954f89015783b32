// A client session's T-SQL state (current database, @@TRANCOUNT, SET options, @@ROWCOUNT,
// SCOPE_IDENTITY) and the batch executor: a batch is parsed whole first (a syntax error runs
// nothing, as in SQL Server), then its statements run in order; a runtime error ends only its
// statement unless XACT_ABORT is on or the transaction was lost.
import { parseMirroringOption } from "../tsql/mirroring_statements.js";
import { runMirroringCommand } from "./mirroring_commands.js";
import { runEndpointCheck, runSecurityStatement } from "./security_dispatch.js";
import { runBackupCommand } from "./backup_commands.js";
import { parseBackupStatement } from "../tsql/backup_statements.js";
import type { DatabaseEntry, LoginEntry } from "../catalog/master.js";
import { SqlError } from "../errors/sql_error.js";
import { StatementError, type Session } from "../storage/session.js";
import { parseBatch } from "../tsql/parser.js";
import type { Statement } from "../tsql/statements.js";
import { DoneStatus, EnvChange, type TokenWriter } from "../tds/tokens.js";
import { DoneChain } from "./done_chain.js";
import { runPrint, runRaiserror } from "./messages.js";
import { PreparedStatements } from "./rpc.js";
import type { Instance } from "./instance.js";
import { infoToken } from "./login_response.js";
import type { ResponseStream } from "./response.js";
import { sqlErrorFromSqlite } from "./sqlite_errors.js";
import { runDataStatement } from "./data_statement.js";

type Of<K extends Statement["kind"]> = Extract<Statement, { kind: K }>;

/** sp_executesql / sp_execute parameter values by lower-cased name with '@'. */
export type StatementParameters = ReadonlyMap<string, unknown>;

export { DoneChain };

export interface SessionSettings {
  nocount: boolean;
  xactAbort: boolean;
  lockTimeoutMs: number;
}

export class TsqlSession {
  databaseName: string;
  databaseId: number;
  trancount = 0;
  rowcount: number | bigint = 0;
  identity: number | bigint | null = null;
  readonly settings: SessionSettings = { nocount: false, xactAbort: false, lockTimeoutMs: -1 };
  readonly prepared = new PreparedStatements();
  private storage: Session | null = null;
  private descriptor: Buffer = Buffer.alloc(8);
  private transactionsBegun = 0;
  private transactionName: string | null = null;
  private closed = false;

  constructor(readonly instance: Instance, readonly spid: number, readonly login: LoginEntry,
    database: DatabaseEntry) {
    this.databaseName = database.name;
    this.databaseId = database.id;
    instance.enterDatabase(database.id);
  }

  get inTransaction(): boolean { return this.trancount > 0; }
  /** Role membership as it stands now (ALTER SERVER ROLE applies to open sessions too). */
  get isSysadmin(): boolean { return this.instance.catalog.loginBySid(this.login.sid)?.sysadmin ?? false; }

  /** The storage session of the current database, made on first use. */
  storageSession(): Session {
    if (this.storage === null) {
      const target = this.instance.database(this.databaseName);
      if (target === null) throw new SqlError("DATABASE_DOES_NOT_EXIST", [this.databaseName]);
      this.storage = target.db.session({ lockTimeoutMs: this.settings.lockTimeoutMs });
    }
    return this.storage;
  }

  cancel(): void {
    this.storage?.cancel();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.storage?.close();
    this.trancount = 0;
    this.instance.leaveDatabase(this.databaseId);
  }

  async runBatch(sql: string, out: ResponseStream, attention: () => boolean): Promise<void> {
    const done = new DoneChain(out.tokens, () => this.inTransaction);
    await this.runText(sql, out, done, attention, new Map());
    done.finishBatch();
  }

  /**
   * Parses and runs a batch's text (also sp_executesql's statement). A syntax error runs none
   * of it; a runtime error ends its statement, or the rest when the transaction is lost.
   * Returns false when the text did not run to its end.
   */
  async runText(sql: string, out: ResponseStream, done: DoneChain, attention: () => boolean,
    parameters: StatementParameters): Promise<boolean> {
    let statements: Statement[];
    try {
      statements = parseBatch(sql, { checkLoneStatement: false, parameters: new Set(parameters.keys()) });
    } catch (error) {
      this.writeError(out.tokens, done, error, 1);
      return false;
    }
    for (const statement of statements) {
      if (attention()) return false;
      try {
        await this.run(statement, out, done, parameters);
      } catch (error) {
        if (attention()) return false;
        if (await this.onError(error, statement, out.tokens, done)) return false;
      }
      await out.flush();
    }
    return true;
  }

  /** Reports a failed statement; returns true when the rest of the batch must not run. */
  private async onError(error: unknown, statement: Statement, tokens: TokenWriter, done: DoneChain): Promise<boolean> {
    const rolledBack = error instanceof StatementError && error.transactionRolledBack;
    this.writeError(tokens, done, error, statement.line);
    if (rolledBack && this.trancount > 0) {
      this.trancount = 0;
      tokens.envChangeBytes(EnvChange.ROLLBACK_TRAN, Buffer.alloc(0), this.descriptor);
      return true;
    }
    if (this.settings.xactAbort && this.trancount > 0) {
      await this.storageSession().rollback();
      this.trancount = 0;
      tokens.envChangeBytes(EnvChange.ROLLBACK_TRAN, Buffer.alloc(0), this.descriptor);
      return true;
    }
    return false;
  }

  writeError(tokens: TokenWriter, done: DoneChain, error: unknown, line: number): void {
    const sqlError = toSqlError(error);
    done.release();
    const errorLine = (sqlError as SqlError & { line?: number }).line ?? line;
    tokens.error(infoToken(sqlError, this.instance.serverName, errorLine));
    done.statementDone(DoneStatus.ERROR, 0, 0);
  }

  private async run(statement: Statement, out: ResponseStream, done: DoneChain,
    parameters: StatementParameters): Promise<void> {
    switch (statement.kind) {
      case "data": return runDataStatement(this, statement, out, done, parameters);
      case "print": return runPrint(this, statement, out.tokens, done, parameters);
      case "raiserror": return runRaiserror(this, statement, out.tokens, done, parameters);
      case "use": return this.use(statement, out.tokens, done);
      case "createDatabase": return this.createDatabase(statement, done);
      case "dropDatabase": return this.dropDatabase(statement, done);
      case "alterDatabaseSetRecovery": return this.setRecovery(statement, done);
      case "setOption": return this.setOption(statement);
      case "setLockTimeout": return this.setLockTimeout(statement.ms);
      case "setTransactionIsolationLevel": return;
      case "beginTransaction": return this.beginTransaction(statement.name, out.tokens, done);
      case "commitTransaction": return this.commitTransaction(out.tokens, done);
      case "rollbackTransaction": return this.rollbackTransaction(statement.savepoint, out.tokens, done);
      case "saveTransaction": return this.saveTransaction(statement.name);
      case "alterDatabaseOther": return this.alterDatabaseOther(statement, done);
      case "admin": {
        if (/^(BACKUP|RESTORE) /.test(statement.verb) && statement.verb !== "BACKUP CERTIFICATE") {
          this.requirePermission(statement.verb);
          return runBackupCommand(this, parseBackupStatement(statement), out, done);
        }
        if (statement.verb === "EXECUTE sp_mirrorlite_endpoint_check") return runEndpointCheck(this, statement, out, done);
        return runSecurityStatement(this, statement, out, done);
      }
    }
  }

  private async use(statement: Of<"use">, tokens: TokenWriter, done: DoneChain): Promise<void> {
    const target = this.instance.database(statement.database);
    if (target === null) {
      const entry = this.instance.catalog.database(statement.database);
      if (entry !== undefined && this.instance.restoringControl(entry.id) !== null) {
        if (this.instance.mirroring.isMirrored(entry.name)) throw new SqlError("DBM_ACTING_AS_MIRROR", [entry.name]);
        throw new SqlError("BACKUP_DATABASE_RESTORING", [entry.name]);
      }
      throw new SqlError("DATABASE_DOES_NOT_EXIST", [statement.database]);
    }
    if (target.entry.id === this.databaseId) return this.announceDatabase(tokens, done, target.entry.name);
    if (this.instance.mirroring.blocksUsers(target.entry.name)) throw new SqlError("DB_IN_TRANSITION", [target.entry.name]);
    if (!await this.instance.canAccess(this.login, target.entry.id)) {
      throw new SqlError("DATABASE_ACCESS_DENIED", [this.login.name, target.entry.name]);
    }
    if (this.inTransaction) throw new SqlError("NOT_IN_TRANSACTION", ["USE"]);
    await this.storage?.close();
    this.storage = null;
    this.instance.leaveDatabase(this.databaseId);
    this.instance.enterDatabase(target.entry.id);
    const old = this.databaseName;
    this.databaseName = target.entry.name;
    this.databaseId = target.entry.id;
    this.announceDatabase(tokens, done, old);
  }

  private announceDatabase(tokens: TokenWriter, done: DoneChain, old: string): void {
    done.release();
    tokens.envChangeString(EnvChange.DATABASE, this.databaseName, old);
    tokens.info(infoToken(new SqlError("DATABASE_CONTEXT_CHANGED", [this.databaseName]), this.instance.serverName));
  }

  /** ALTER DATABASE … SET PARTNER / WITNESS (src/server/mirroring_commands.ts). */
  private async alterDatabaseOther(statement: Of<"alterDatabaseOther">, done: DoneChain): Promise<void> {
    if (this.inTransaction) throw new SqlError("NOT_IN_TRANSACTION", ["ALTER DATABASE"]);
    const command = parseMirroringOption(statement);
    this.requirePermission("ALTER DATABASE");
    await runMirroringCommand(this.instance, command, this.databaseName);
    done.statementDone(DoneStatus.FINAL, 0, 0);
  }

  /** Server-level statements need sysadmin (SQL Server's dbcreator/db_owner are not modelled). */
  private requirePermission(statement: string): void {
    if (!this.isSysadmin) throw new SqlError("PERMISSION_DENIED", [statement, this.databaseName]);
  }

  private async createDatabase(statement: Of<"createDatabase">, done: DoneChain): Promise<void> {
    if (this.inTransaction) throw new SqlError("NOT_IN_TRANSACTION", ["CREATE DATABASE"]);
    this.requirePermission("CREATE DATABASE");
    await this.instance.createDatabase(statement.name, new Date());
    done.statementDone(DoneStatus.FINAL, 0, 0);
  }

  private async dropDatabase(statement: Of<"dropDatabase">, done: DoneChain): Promise<void> {
    if (this.inTransaction) throw new SqlError("NOT_IN_TRANSACTION", ["DROP DATABASE"]);
    this.requirePermission("DROP DATABASE");
    for (const name of statement.names) {
      if (statement.ifExists && this.instance.database(name) === null) continue;
      await this.instance.dropDatabase(name);
    }
    done.statementDone(DoneStatus.FINAL, 0, 0);
  }

  private async setRecovery(statement: Of<"alterDatabaseSetRecovery">, done: DoneChain): Promise<void> {
    if (this.inTransaction) throw new SqlError("NOT_IN_TRANSACTION", ["ALTER DATABASE"]);
    this.requirePermission("ALTER DATABASE");
    const name = statement.name ?? this.databaseName;
    const target = this.instance.database(name);
    if (target === null) throw new SqlError("ALTER_DATABASE_MISSING", [name]);
    if (this.instance.mirroring.isMirrored(target.entry.name)) throw new SqlError("DBM_INVOLVED", [target.entry.name]);
    target.db.setRecoveryModel(statement.model);
    done.statementDone(DoneStatus.FINAL, 0, 0);
  }

  private setOption(statement: Of<"setOption">): void {
    const on = statement.value.toUpperCase() === "ON";
    for (const option of statement.options) {
      if (option === "NOCOUNT") this.settings.nocount = on;
      else if (option === "XACT_ABORT") this.settings.xactAbort = on;
    }
  }

  private setLockTimeout(ms: number): void {
    this.settings.lockTimeoutMs = ms;
    if (this.storage !== null) this.storage.options.lockTimeoutMs = ms;
  }

  /** BEGIN TRAN (and the TM begin request): the outermost sends ENVCHANGE 8 with a descriptor. */
  async beginTransaction(name: string | null, tokens: TokenWriter, done: DoneChain): Promise<void> {
    if (this.trancount === 0) {
      await this.storageSession().begin();
      this.transactionName = name;
      this.descriptor = this.newDescriptor();
      done.release();
      tokens.envChangeBytes(EnvChange.BEGIN_TRAN, this.descriptor, Buffer.alloc(0));
    }
    this.trancount++;
  }

  async commitTransaction(tokens: TokenWriter, done: DoneChain): Promise<void> {
    if (this.trancount === 0) throw new SqlError("NO_TRANSACTION_TO_COMMIT");
    if (this.trancount > 1) {
      this.trancount--;
      return;
    }
    try {
      await this.storageSession().commit();
    } finally {
      // A failed commit has ended the transaction in SQLite too (it rolled back).
      if (!this.storageSession().inTransaction) this.trancount = 0;
    }
    this.trancount = 0;
    done.release();
    tokens.envChangeBytes(EnvChange.COMMIT_TRAN, Buffer.alloc(0), this.descriptor);
  }

  /** ROLLBACK [name]: to a savepoint (no ENVCHANGE), or all of it (ENVCHANGE 10). */
  async rollbackTransaction(savepoint: string | null, tokens: TokenWriter, done: DoneChain): Promise<void> {
    if (this.trancount === 0) throw new SqlError("NO_TRANSACTION_TO_ROLLBACK");
    // ROLLBACK TRAN name rolls back everything when it names the outermost BEGIN TRAN.
    const whole = savepoint === null || savepoint.toLowerCase() === this.transactionName?.toLowerCase();
    if (!whole) {
      await this.storageSession().rollbackTo(savepoint);
      return;
    }
    await this.storageSession().rollback();
    this.trancount = 0;
    done.release();
    tokens.envChangeBytes(EnvChange.ROLLBACK_TRAN, Buffer.alloc(0), this.descriptor);
  }

  async saveTransaction(name: string): Promise<void> {
    if (this.trancount === 0) throw new SqlError("NO_TRANSACTION_TO_ROLLBACK");
    await this.storageSession().savepoint(name);
  }

  /**
   * RESETCONNECTION (a pooled connection handed to a new user): roll back, SET options,
   * session values and prepared statements back to their defaults; acknowledged with
   * ENVCHANGE 18. The database context is kept.
   */
  async reset(tokens: TokenWriter): Promise<void> {
    if (this.trancount > 0) {
      await this.storageSession().rollback();
      this.trancount = 0;
    }
    Object.assign(this.settings, { nocount: false, xactAbort: false, lockTimeoutMs: -1 });
    if (this.storage !== null) this.storage.options.lockTimeoutMs = -1;
    this.rowcount = 0;
    this.identity = null;
    this.prepared.clear();
    tokens.envChangeBytes(EnvChange.RESET_ACK, Buffer.alloc(0), Buffer.alloc(0));
  }

  /** An 8-byte transaction descriptor, unique within the instance's lifetime for this session. */
  private newDescriptor(): Buffer {
    const descriptor = Buffer.alloc(8);
    descriptor.writeUInt32LE(this.spid, 0);
    descriptor.writeUInt32LE(++this.transactionsBegun, 4);
    return descriptor;
  }
}

function toSqlError(error: unknown): SqlError {
  if (error instanceof SqlError) return error;
  if (error instanceof StatementError) return sqlErrorFromSqlite(error.message, error.code);
  throw error;
}
