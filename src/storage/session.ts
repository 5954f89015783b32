// A session's view of one database: statements, transactions and savepoints, the write lock
// taken at the first write (not at BEGIN), and the rule that a commit is acknowledged only
// once its log record is durable.
import { SqlError } from "../errors/sql_error.js";
import { assert } from "../util/assert.js";
import type { EngineServices, MirrorliteDatabase } from "./database.js";
import type { WorkerChannel } from "./worker_channel.js";
import type { ColumnInfo, WriterReply, WriterRequest } from "./writer_protocol.js";
import type { CatalogTable } from "./reader_worker.js";

export interface SessionOptions {
  /** SET LOCK_TIMEOUT in ms: -1 waits forever (the default), 0 fails at once. */
  lockTimeoutMs: number;
}

export interface ExecuteOptions {
  /** Rows as arrays in column order (default: objects keyed by column name). */
  readonly raw?: boolean;
  /** A result set comes back as TDS tokens in `encoded` (made on the worker), with `rowCount`. */
  readonly encode?: boolean;
}

export interface StatementResult {
  /** With `encode`: COLMETADATA and ROW tokens of the result set; `rows` is then empty. */
  readonly encoded?: Uint8Array;
  readonly rowCount?: number;
  /** Arrays of values in column order with `raw`, otherwise objects keyed by column name. */
  readonly rows: unknown[] | null;
  readonly columns: ColumnInfo[] | null;
  readonly changes: number;
  readonly lastInsertRowid: number;
  /** The LSN that had to be durable before this result was returned (null: nothing to wait for). */
  readonly commitLsn: number | null;
}

/** A statement failed in SQLite; `transactionRolledBack` when SQLite ended the transaction. */
export class StatementError extends Error {
  override readonly name = "StatementError";
  constructor(message: string, readonly code: string, readonly transactionRolledBack: boolean) {
    super(message);
  }
}

const CANCEL_RETRY_MS = 20;
const SAVEPOINT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export class Session {
  private holdsWriter = false;
  private inTransactionNow = false;
  private savepointsBeforeWrite: string[] = [];
  private currentJob = 0;
  private busy = false;

  constructor(private readonly db: MirrorliteDatabase,
    private readonly writer: WorkerChannel<WriterRequest, WriterReply>,
    private readonly services: EngineServices, readonly options: SessionOptions) {}

  get inTransaction(): boolean { return this.inTransactionNow; }
  get holdsWriteLock(): boolean { return this.holdsWriter; }

  /**
   * Runs a read-only statement over catalog tables (sys.* views) on a reader thread: it never
   * touches the database, can be cancelled, and a statement that would write fails.
   */
  executeCatalog(sql: string, params: unknown[], tables: readonly CatalogTable[],
    options: ExecuteOptions = {}): Promise<StatementResult> {
    return this.exclusive(async () => {
      const job = this.startJob();
      try {
        const reply = await this.services.readers.run(":catalog:", job, sql, params,
          { catalog: tables, encode: options.encode === true });
        if (!reply.ok) throw new StatementError(reply.message, reply.code, false);
        assert(!reply.needsWriter, "a catalog reader asked for the writer");
        return { rows: reply.rows, columns: reply.columns, ...encodedPart(reply), changes: 0, lastInsertRowid: 0, commitLsn: null };
      } finally {
        this.endJob();
      }
    });
  }

  /** Runs one statement. Reads go to a reader thread unless this session already writes. */
  execute(sql: string, params: unknown[] = [], options: ExecuteOptions = {}): Promise<StatementResult> {
    return this.exclusive(async () => {
      const result = await this.executeRaw(sql, params, options.encode === true);
      return options.raw === true || options.encode === true ? result : asObjects(result);
    });
  }

  private async executeRaw(sql: string, params: unknown[], encode: boolean): Promise<StatementResult> {
    const kind = classify(sql);
    if (kind === "transaction") {
      throw new SqlError("TRANSACTION_CONTROL_IN_STATEMENT", [firstWord(sql)]);
    }
    if (!this.holdsWriter && kind === "read") {
      const job = this.startJob();
      try {
        const reply = await this.services.readers.run(this.db.paths.dbPath, job, sql, params, { encode });
        if (!reply.ok) throw new StatementError(reply.message, reply.code, false);
        if (!reply.needsWriter) {
          return { rows: reply.rows, columns: reply.columns, ...encodedPart(reply), changes: 0, lastInsertRowid: 0,
            commitLsn: null };
        }
      } finally {
        this.endJob();
      }
    }
    if (!this.inTransactionNow) return this.autocommit(sql, params, encode);
    await this.takeWriter();
    return this.onWriter((id, job) => ({ type: "exec", id, job, sql, params, encode }));
  }

  /** An autocommit write: queued on the writer behind other statements (shared lock). */
  private async autocommit(sql: string, params: unknown[], encode: boolean): Promise<StatementResult> {
    await this.db.writeLock.acquire(this, this.options.lockTimeoutMs, "statement");
    const job = this.startJob();
    let reply: WriterReply;
    try {
      reply = await this.writer.request((id) => ({ type: "exec", id, job, sql, params, encode }));
    } finally {
      this.endJob();
      this.db.writeLock.release(this, "statement");
    }
    assert(!reply.inTransaction, "an autocommit statement left a transaction open");
    if (!reply.ok) throw new StatementError(reply.message, reply.code, false);
    return this.acknowledge(reply);
  }

  /** The acknowledgement rule: nothing returns before its record is durable. */
  private async acknowledge(reply: WriterReply & { ok: true }): Promise<StatementResult> {
    this.db.noteCommit();
    await this.db.waitAcknowledgeable(reply.commitLsn);
    assert(reply.commitLsn <= this.db.log.durableLsn, "acknowledging a commit that is not durable");
    return { rows: reply.rows, columns: reply.columns, ...encodedPart(reply), changes: reply.changes,
      lastInsertRowid: reply.lastInsertRowid, commitLsn: reply.commitLsn };
  }

  begin(): Promise<void> {
    return this.exclusive(async () => {
      // Nested BEGIN TRAN only counts in SQL Server; the T-SQL layer keeps @@TRANCOUNT.
      this.inTransactionNow = true;
    });
  }

  commit(): Promise<StatementResult> {
    return this.exclusive(async () => {
      if (!this.inTransactionNow) throw new SqlError("NO_TRANSACTION_TO_COMMIT");
      if (!this.holdsWriter) {
        this.endTransaction();
        return { rows: null, columns: null, changes: 0, lastInsertRowid: 0, commitLsn: null };
      }
      return this.onWriter((id, job) => ({ type: "control", id, job, sql: "COMMIT" }));
    });
  }

  rollback(): Promise<void> {
    return this.exclusive(async () => {
      if (!this.inTransactionNow) throw new SqlError("NO_TRANSACTION_TO_ROLLBACK");
      if (this.holdsWriter) await this.onWriter((id, job) => ({ type: "control", id, job, sql: "ROLLBACK" }));
      this.endTransaction();
    });
  }

  savepoint(name: string): Promise<void> {
    return this.exclusive(async () => {
      checkSavepointName(name);
      if (!this.inTransactionNow) this.inTransactionNow = true;
      if (this.holdsWriter) {
        await this.onWriter((id, job) => ({ type: "control", id, job, sql: `SAVEPOINT "${name}"` }));
      } else {
        this.savepointsBeforeWrite.push(name);
      }
    });
  }

  rollbackTo(name: string): Promise<void> {
    return this.exclusive(async () => {
      checkSavepointName(name);
      if (this.holdsWriter) {
        await this.onWriter((id, job) => ({ type: "control", id, job, sql: `ROLLBACK TO "${name}"` }));
        return;
      }
      const index = this.savepointsBeforeWrite.lastIndexOf(name);
      if (!this.inTransactionNow || index < 0) throw new SqlError("SAVEPOINT_NOT_FOUND", [name]);
      this.savepointsBeforeWrite = this.savepointsBeforeWrite.slice(0, index + 1);
    });
  }

  /** Stops the running statement (ATTENTION / query timeout); the session stays usable. */
  cancel(): void {
    const job = this.currentJob;
    if (job === 0) return;
    this.services.interrupt(job);
    // The job may not have reached its thread yet: keep asking until it ends.
    const timer = setInterval(() => {
      if (this.currentJob !== job) clearInterval(timer);
      else this.services.interrupt(job);
    }, CANCEL_RETRY_MS);
  }

  /** Ends the session; an open transaction is rolled back. */
  async close(): Promise<void> {
    this.cancel();
    while (this.busy) await new Promise((resolve) => setTimeout(resolve, 5));
    if (this.inTransactionNow) await this.rollback();
  }

  private async takeWriter(): Promise<void> {
    if (this.holdsWriter) return;
    await this.db.writeLock.acquire(this, this.options.lockTimeoutMs);
    this.holdsWriter = true;
    if (!this.inTransactionNow) return;
    // The transaction began (and may have set savepoints) before its first write.
    await this.control("BEGIN");
    for (const name of this.savepointsBeforeWrite) await this.control(`SAVEPOINT "${name}"`);
    this.savepointsBeforeWrite = [];
  }

  private async control(sql: string): Promise<void> {
    await this.onWriter((id, job) => ({ type: "control", id, job, sql }));
  }

  /** Sends a request to the writer; afterwards gives up the lock when no transaction is open. */
  private async onWriter(build: (id: number, job: number) => WriterRequest): Promise<StatementResult> {
    assert(this.holdsWriter, "writer request without the write lock");
    const job = this.startJob();
    let reply: WriterReply;
    try {
      reply = await this.writer.request((id) => build(id, job));
    } finally {
      this.endJob();
    }
    const rolledBack = this.inTransactionNow && !reply.inTransaction;
    if (!reply.inTransaction) this.endTransaction();
    if (!reply.ok) throw new StatementError(reply.message, reply.code, rolledBack);
    if (reply.inTransaction) {
      return { rows: reply.rows, columns: reply.columns, ...encodedPart(reply), changes: reply.changes,
        lastInsertRowid: reply.lastInsertRowid, commitLsn: null };
    }
    return this.acknowledge(reply);
  }

  private endTransaction(): void {
    this.inTransactionNow = false;
    this.savepointsBeforeWrite = [];
    if (this.holdsWriter) {
      this.holdsWriter = false;
      this.db.writeLock.release(this);
    }
  }

  private startJob(): number {
    this.currentJob = this.services.nextJob();
    return this.currentJob;
  }

  private endJob(): void {
    this.currentJob = 0;
  }

  private async exclusive<T>(body: () => Promise<T>): Promise<T> {
    if (this.busy) throw new SqlError("SESSION_BUSY");
    this.busy = true;
    try {
      return await body();
    } finally {
      this.busy = false;
    }
  }
}

function encodedPart(reply: { encoded?: Uint8Array; rowCount?: number }): { encoded?: Uint8Array; rowCount?: number } {
  return reply.encoded === undefined ? {} : { encoded: reply.encoded, rowCount: reply.rowCount ?? 0 };
}

function asObjects(result: StatementResult): StatementResult {
  if (result.rows === null || result.columns === null) return result;
  const names = result.columns.map((column) => column.name);
  const rows = (result.rows as unknown[][]).map((values) =>
    Object.fromEntries(names.map((name, i) => [name, values[i]])));
  return { ...result, rows };
}

type StatementKind = "transaction" | "read" | "write";

/** Routes by the first keyword; a reader still refuses anything SQLite says would write. */
export function classify(sql: string): StatementKind {
  const word = firstWord(sql).toUpperCase();
  if (["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"].includes(word)) return "transaction";
  if (["SELECT", "WITH", "VALUES", "EXPLAIN"].includes(word)) return "read";
  return "write";
}

function firstWord(sql: string): string {
  const stripped = sql.replace(/^(\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/|\()+/, "");
  return /^[A-Za-z_]+/.exec(stripped)?.[0] ?? "";
}

function checkSavepointName(name: string): void {
  if (!SAVEPOINT_NAME.test(name)) throw new SqlError("SAVEPOINT_NOT_FOUND", [name]);
}
