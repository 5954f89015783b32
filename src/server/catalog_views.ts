// sys.* catalog views: projections of the master catalog and the open databases, loaded into
// a scratch in-memory SQLite for each query so any SELECT the user writes over them works.
// Tiny tables, so the query runs on the event loop; the views are read-only (error 259).
import Database from "better-sqlite3";
import { SqlError } from "../errors/sql_error.js";
import { loadGuard } from "../storage/guard.js";
import type { ColumnInfo } from "../storage/writer_protocol.js";
import type { Instance } from "./instance.js";

interface ViewDefinition {
  readonly columns: string;
  readonly rows: (instance: Instance) => unknown[][];
}

const RECOVERY_MODEL_CODES = { FULL: 1, BULK_LOGGED: 2, SIMPLE: 3 } as const;
/** SQL Server's log_reuse_wait codes for each log_reuse_wait_desc. */
const LOG_REUSE_WAIT_CODES: Record<string, number> = {
  NOTHING: 0, CHECKPOINT: 1, LOG_BACKUP: 2, ACTIVE_BACKUP_OR_RESTORE: 3, ACTIVE_TRANSACTION: 4,
  DATABASE_MIRRORING: 5, REPLICATION: 6, DATABASE_SNAPSHOT_CREATION: 7, OTHER_TRANSIENT: 9,
};

const VIEWS: Record<string, ViewDefinition> = {
  databases: {
    columns: `name NVARCHAR(128), database_id INT, source_database_id INT, owner_sid VARBINARY(85),
      create_date DATETIME, compatibility_level TINYINT, collation_name NVARCHAR(128),
      user_access TINYINT, user_access_desc NVARCHAR(60), is_read_only BIT, state TINYINT,
      state_desc NVARCHAR(60), recovery_model TINYINT, recovery_model_desc NVARCHAR(60),
      log_reuse_wait TINYINT, log_reuse_wait_desc NVARCHAR(60)`,
    rows: (instance) => instance.catalog.databases().flatMap((entry) => {
      const open = instance.database(entry.name);
      if (open === null) return [];
      const model = open.db.recoveryModel;
      const wait = open.db.logReuseWaitDesc;
      return [[entry.name, entry.id, null, Buffer.from([1]), entry.createDate.replace("T", " ").replace("Z", ""),
        160, "SQL_Latin1_General_CP1_CI_AS", 0, "MULTI_USER", 0, 0, "ONLINE",
        RECOVERY_MODEL_CODES[model], model, LOG_REUSE_WAIT_CODES[wait] ?? 9, wait]];
    }),
  },
};

export function isCatalogView(name: string): boolean {
  return Object.hasOwn(VIEWS, name);
}

export class CatalogViews {
  private readonly scratch: Database.Database;

  constructor(private readonly instance: Instance) {
    this.scratch = new Database(":memory:");
    loadGuard(this.scratch);
    this.scratch.defaultSafeIntegers(true);
    for (const [name, view] of Object.entries(VIEWS)) {
      this.scratch.exec(`CREATE TABLE "sys.${name}" (${view.columns})`);
    }
  }

  /** Runs one rewritten SELECT over the named views, refreshed from the live catalog. */
  query(sql: string, views: readonly string[]): { columns: ColumnInfo[]; rows: unknown[][] } {
    for (const name of views) this.refresh(name);
    const statement = this.scratch.prepare(sql);
    if (!statement.reader || !statement.readonly) throw new SqlError("CATALOG_READ_ONLY");
    const rows = statement.raw(true).all() as unknown[][];
    return { columns: statement.columns().map((c) => ({ name: c.name, type: c.type })), rows };
  }

  close(): void {
    this.scratch.close();
  }

  private refresh(name: string): void {
    const view = VIEWS[name];
    if (view === undefined) throw new SqlError("INVALID_OBJECT_NAME", [`sys.${name}`]);
    const rows = view.rows(this.instance);
    const table = `"sys.${name}"`;
    this.scratch.transaction(() => {
      this.scratch.exec(`DELETE FROM ${table}`);
      const first = rows[0];
      if (first === undefined) return;
      const insert = this.scratch.prepare(`INSERT INTO ${table} VALUES (${first.map(() => "?").join(", ")})`);
      for (const row of rows) insert.run(...row);
    })();
  }
}
