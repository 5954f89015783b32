// Data statements: rewritten from T-SQL into SQLite's dialect with the session's values
// (DB_NAME(), @@SPID, SCOPE_IDENTITY()…), run on the database's reader or writer threads (or on
// the catalog views), and streamed back as COLMETADATA, rows in bounded flushes, and DONE.
import { columnTypesFor } from "../tds/types.js";
import { DoneStatus } from "../tds/tokens.js";
import { rewriteData } from "../tsql/rewrite.js";
import { catalogTables } from "./catalog_views.js";
import type { Statement } from "../tsql/statements.js";
import type { ColumnInfo } from "../storage/writer_protocol.js";
import type { ResponseStream } from "./response.js";
import type { DoneChain, StatementParameters, TsqlSession } from "./tsql_session.js";

type DataStatement = Extract<Statement, { kind: "data" }>;

/** SQL Server's CurCmd values, informational in DONE tokens. */
const CUR_CMD: Record<string, number> = { SELECT: 0xc1, INSERT: 0xc3, DELETE: 0xc4, UPDATE: 0xc5 };
const COUNTED = new Set(["INSERT", "UPDATE", "DELETE", "REPLACE"]);
/** Flush the response every this many bytes of rows, so memory stays bounded by the socket. */
const FLUSH_BYTES = 64 * 1024;

export async function runDataStatement(session: TsqlSession, statement: DataStatement,
  out: ResponseStream, done: DoneChain, parameters: StatementParameters): Promise<void> {
  const sql = rewriteForSession(session, statement, parameters);
  const verb = firstKeyword(sql);
  let result: { columns: ColumnInfo[] | null; rows: unknown[][] | null; changes: number; lastInsertRowid: number };
  if (statement.catalogViews.length > 0) {
    const tables = catalogTables(session.instance, statement.catalogViews);
    const reply = await session.storageSession().executeCatalog(sql, bindings(parameters), tables);
    result = { columns: reply.columns, rows: reply.rows as unknown[][] | null, changes: 0, lastInsertRowid: 0 };
  } else {
    const reply = await session.storageSession().execute(sql, bindings(parameters), { raw: true });
    result = { columns: reply.columns, rows: reply.rows as unknown[][] | null, changes: reply.changes,
      lastInsertRowid: reply.lastInsertRowid };
  }
  const counted = session.settings.nocount ? 0 : DoneStatus.COUNT;
  if (result.rows !== null && result.columns !== null) {
    await streamRows(result.columns, result.rows, out, done);
    session.rowcount = result.rows.length;
    done.statementDone(counted, CUR_CMD.SELECT!, result.rows.length);
    return;
  }
  session.rowcount = result.changes;
  if (verb === "INSERT" && result.changes > 0) session.identity = result.lastInsertRowid;
  done.statementDone(COUNTED.has(verb) ? counted : 0, CUR_CMD[verb] ?? 0, result.changes);
}

async function streamRows(columns: ColumnInfo[], rows: unknown[][], out: ResponseStream,
  done: DoneChain): Promise<void> {
  const types = columnTypesFor(columns, rows);
  done.release();
  out.tokens.colMetadata(types);
  for (const row of rows) {
    out.tokens.row(types, row);
    if (out.tokens.byteLength >= FLUSH_BYTES) await out.flush();
  }
}

/** The statement in SQLite's dialect with this session's values (DB_NAME(), @@SPID, …). */
export function rewriteForSession(session: TsqlSession, statement: DataStatement,
  parameters: StatementParameters): string {
  return rewriteData(statement, {
    spid: session.spid, databaseName: session.databaseName, databaseId: session.databaseId,
    serverName: session.instance.serverName, version: session.instance.versionText,
    trancount: session.trancount, rowcount: Number(session.rowcount), identity: session.identity,
    serverProperties: session.instance.serverProperties,
    parameters: new Set(parameters.keys()),
  });
}

/** better-sqlite3 binds `@name` from an object keyed by name without the '@'. */
export function bindings(parameters: StatementParameters): unknown[] {
  if (parameters.size === 0) return [];
  const named: Record<string, unknown> = {};
  for (const [name, value] of parameters) named[name.slice(1)] = value;
  return [named];
}

function firstKeyword(sql: string): string {
  const stripped = sql.replace(/^(\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/|\()+/, "");
  const word = /^[A-Za-z_]+/.exec(stripped)?.[0]?.toUpperCase() ?? "";
  if (word !== "WITH") return word;
  // WITH … INSERT/UPDATE/DELETE: the verb is the first of those at the top level.
  return /\b(INSERT|UPDATE|DELETE|SELECT)\b/i.exec(stripped)?.[1]?.toUpperCase() ?? "SELECT";
}
