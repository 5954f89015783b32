// A reader thread: read-only connections (one per database, opened on first use) that run
// statements on WAL snapshots, so a long query never holds the event loop or the writer.
// A statement that would write is sent back: the session must take the write lock for it.
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";
import { loadGuard } from "./guard.js";
import { collectRows, columnInfo, encodeResult, type ColumnInfo } from "./writer_protocol.js";

export interface ReaderRequest {
  readonly id: number;
  readonly job: number;
  readonly dbPath: string;
  readonly sql: string;
  readonly params: unknown[];
  /** Close this thread's connection to dbPath instead of running anything. */
  readonly forget?: boolean;
  /** Answer with the result already encoded as TDS tokens (`encoded`) instead of rows. */
  readonly encode?: boolean;
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
      readonly columns: ColumnInfo[]; readonly encoded?: Uint8Array; readonly rowCount?: number }
  | { readonly id: number; readonly ok: true; readonly needsWriter: true }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string };

const port = parentPort!;
const { safeIntegers } = workerData as { safeIntegers: boolean };
const STATEMENT_CACHE_MAX = 256;

interface ReaderConnection {
  readonly db: Database.Database;
  readonly setJob: Database.Statement;
  readonly statements?: Map<string, Database.Statement>;
}

const connections = new Map<string, ReaderConnection & { statements: Map<string, Database.Statement> }>();

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
    const statement = prepared(connection, request.sql);
    if (!statement.readonly || !statement.reader) {
      if (request.catalog !== undefined) return { id: request.id, ok: false, code: "CATALOG_READ_ONLY", message: "read-only" };
      return { id: request.id, ok: true, needsWriter: true };
    }
    connection.setJob.run(request.job);
    try {
      // Arrays, not objects: duplicate column names (SELECT 1, 1) must survive.
      const rows = collectRows(statement, request.params);
      const columns = columnInfo(statement);
      if (request.encode === true) {
        return { id: request.id, ok: true, needsWriter: false, rows: [], columns,
          encoded: encodeResult(columns, rows), rowCount: rows.length };
      }
      return { id: request.id, ok: true, needsWriter: false, rows, columns };
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

function connectionFor(dbPath: string): ReaderConnection & { statements: Map<string, Database.Statement> } {
  let connection = connections.get(dbPath);
  if (connection === undefined) {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    loadGuard(db);
    db.defaultSafeIntegers(safeIntegers);
    db.pragma("busy_timeout = 5000");
    connection = { db, setJob: db.prepare("SELECT guard_job(?)"), statements: new Map() };
    connections.set(dbPath, connection);
  }
  return connection;
}

/**
 * Prepared statements by SQL text, least recently used dropped first: clients repeat the same
 * statements (pool validation, parameterised queries), and preparing costs more than running
 * a small one. SQLite re-prepares a cached statement itself after a schema change.
 */
function prepared(connection: ReaderConnection, sql: string): Database.Statement {
  const statements = connection.statements;
  if (statements === undefined) return connection.db.prepare(sql);
  let statement = statements.get(sql);
  if (statement !== undefined) {
    statements.delete(sql);
  } else {
    statement = connection.db.prepare(sql);
    if (statements.size >= STATEMENT_CACHE_MAX) statements.delete(statements.keys().next().value!);
  }
  statements.set(sql, statement);
  return statement;
}
