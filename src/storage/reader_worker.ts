// A reader thread: read-only connections (one per database, opened on first use) that run
// statements on WAL snapshots, so a long query never holds the event loop or the writer.
// A statement that would write is sent back: the session must take the write lock for it.
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";
import { loadGuard } from "./guard.js";
import { collectRows, columnInfo, type ColumnInfo } from "./writer_protocol.js";

export interface ReaderRequest {
  readonly id: number;
  readonly job: number;
  readonly dbPath: string;
  readonly sql: string;
  readonly params: unknown[];
  /** Close this thread's connection to dbPath instead of running anything. */
  readonly forget?: boolean;
  /**
   * Catalog views: run `sql` over these tables, loaded into this thread's in-memory catalog
   * database, instead of over dbPath (so even a catalog query never runs on the event loop,
   * and it can be interrupted like any other).
   */
  readonly catalog?: readonly CatalogTable[];
}

export interface CatalogTable {
  readonly name: string;
  /** Column definitions, as in CREATE TABLE. */
  readonly columns: string;
  readonly rows: readonly (readonly unknown[])[];
}

export type ReaderReply =
  | { readonly id: number; readonly ok: true; readonly needsWriter: false; readonly rows: unknown[][];
      readonly columns: ColumnInfo[] }
  | { readonly id: number; readonly ok: true; readonly needsWriter: true }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string };

const port = parentPort!;
const { safeIntegers } = workerData as { safeIntegers: boolean };
const connections = new Map<string, { db: Database.Database; setJob: Database.Statement }>();

port.on("message", (request: ReaderRequest) => {
  if (request.forget === true) {
    connections.get(request.dbPath)?.db.close();
    connections.delete(request.dbPath);
    port.postMessage({ id: request.id, ok: true, needsWriter: true });
    return;
  }
  port.postMessage(run(request));
});

function run(request: ReaderRequest): ReaderReply {
  try {
    const connection = request.catalog === undefined ? connectionFor(request.dbPath) : catalogConnection(request.catalog);
    const statement = connection.db.prepare(request.sql);
    if (!statement.readonly || !statement.reader) {
      if (request.catalog !== undefined) return { id: request.id, ok: false, code: "CATALOG_READ_ONLY", message: "read-only" };
      return { id: request.id, ok: true, needsWriter: true };
    }
    connection.setJob.run(request.job);
    try {
      // Arrays, not objects: duplicate column names (SELECT 1, 1) must survive.
      const rows = collectRows(statement, request.params);
      return { id: request.id, ok: true, needsWriter: false, rows, columns: columnInfo(statement) };
    } finally {
      connection.setJob.run(0);
    }
  } catch (error) {
    const e = error as { code?: string; message: string };
    return { id: request.id, ok: false, code: e.code ?? "ERROR", message: e.message };
  }
}

let catalog: { db: Database.Database; setJob: Database.Statement } | null = null;

/** This thread's in-memory catalog database, its tables replaced by the request's rows. */
function catalogConnection(tables: readonly CatalogTable[]): { db: Database.Database; setJob: Database.Statement } {
  if (catalog === null) {
    const db = new Database(":memory:");
    loadGuard(db);
    db.defaultSafeIntegers(safeIntegers);
    catalog = { db, setJob: db.prepare("SELECT guard_job(?)") };
  }
  const db = catalog.db;
  db.transaction(() => {
    for (const table of tables) {
      const name = `"${table.name.replace(/"/g, '""')}"`;
      db.exec(`DROP TABLE IF EXISTS ${name}; CREATE TABLE ${name} (${table.columns})`);
      const first = table.rows[0];
      if (first === undefined) continue;
      const insert = db.prepare(`INSERT INTO ${name} VALUES (${first.map(() => "?").join(", ")})`);
      for (const row of table.rows) insert.run(...row);
    }
  })();
  return catalog;
}

function connectionFor(dbPath: string): { db: Database.Database; setJob: Database.Statement } {
  let connection = connections.get(dbPath);
  if (connection === undefined) {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    loadGuard(db);
    db.defaultSafeIntegers(safeIntegers);
    db.pragma("busy_timeout = 5000");
    connection = { db, setJob: db.prepare("SELECT guard_job(?)") };
    connections.set(dbPath, connection);
  }
  return connection;
}
