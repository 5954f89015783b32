// sys.* catalog views: projections of the master catalog and the open databases. A query over
// them runs on a reader thread that loads these rows into its in-memory catalog database, so
// any SELECT the user writes works, can be cancelled and never runs on the event loop; the
// views are read-only (error 259).
import { HISTORY_VIEW_COLUMNS, historyRows } from "../backup/history.js";
import { SqlError } from "../errors/sql_error.js";
import { DATABASE_MIRRORING_COLUMNS, databaseMirroringRow } from "../mirroring/views.js";
import type { CatalogTable } from "../storage/reader_worker.js";
import type { Instance } from "./instance.js";
import { MIRRORING_VIEWS } from "./mirroring_views.js";
import { SECURITY_VIEWS, type ViewContext } from "./security_views.js";

interface ViewDefinition {
  readonly columns: string;
  readonly rows: (instance: Instance, context: ViewContext) => unknown[][];
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
      const restoring = open === null ? instance.restoringControl(entry.id) : null;
      if (open === null && restoring === null) return [];
      const model = open?.db.recoveryModel ?? restoring!.recoveryModel;
      const wait = open?.db.logReuseWaitDesc ?? "NOTHING";
      return [[entry.name, entry.id, null, Buffer.from([1]), entry.createDate.replace("T", " ").replace("Z", ""),
        160, "SQL_Latin1_General_CP1_CI_AS", 0, "MULTI_USER", 0, open === null ? 1 : 0,
        open === null ? "RESTORING" : "ONLINE",
        RECOVERY_MODEL_CODES[model], model, LOG_REUSE_WAIT_CODES[wait] ?? 9, wait]];
    }),
  },
};

for (const [name, view] of Object.entries(SECURITY_VIEWS)) VIEWS[name] = view;
for (const [name, view] of Object.entries(MIRRORING_VIEWS)) VIEWS[name] = view;
for (const [name, columns] of Object.entries(HISTORY_VIEW_COLUMNS)) {
  VIEWS[name] = { columns, rows: (instance) => historyRows(instance.backupHistory, name) };
}

// A projection of each database's session; databases without one show the "not mirrored" row.
VIEWS.database_mirroring = {
  columns: DATABASE_MIRRORING_COLUMNS,
  rows: (instance) => instance.catalog.databases().map((entry) => {
    const session = instance.mirroring.session(entry.name);
    session?.refreshDurable();
    return databaseMirroringRow(entry.id, session?.state ?? null, session?.partner?.instanceName ?? null);
  }),
};

export function isCatalogView(name: string): boolean {
  return Object.hasOwn(VIEWS, name);
}

/** The named views' current rows, as tables a reader thread loads to run the query over. */
export function catalogTables(instance: Instance, views: readonly string[], context: ViewContext): CatalogTable[] {
  return views.map((name) => {
    const view = VIEWS[name];
    if (view === undefined) {
      throw new SqlError("INVALID_OBJECT_NAME", [name.startsWith("msdb.") ? name : `sys.${name}`]);
    }
    const table = name.startsWith("msdb.") ? name : `sys.${name}`;
    return { name: table, columns: view.columns, rows: view.rows(instance, context) };
  });
}
