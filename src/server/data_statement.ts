// Data statements: rewritten from T-SQL into SQLite's dialect with the session's values
// (DB_NAME(), @@SPID, SCOPE_IDENTITY()…), run on the database's reader or writer threads (or on
// the catalog views), which encode the result set as TDS tokens; here only DONE is added.
import { SqlError } from "../errors/sql_error.js";
import { DoneStatus } from "../tds/tokens.js";
import { rewriteData } from "../tsql/rewrite.js";
import { catalogTables } from "./catalog_views.js";
import type { Statement } from "../tsql/statements.js";
import type { ResponseStream } from "./response.js";
import type { DoneChain, StatementParameters, TsqlSession } from "./tsql_session.js";

type DataStatement = Extract<Statement, { kind: "data" }>;

/** SQL Server's CurCmd values, informational in DONE tokens. */
const CUR_CMD: Record<string, number> = { SELECT: 0xc1, INSERT: 0xc3, DELETE: 0xc4, UPDATE: 0xc5 };
const COUNTED = new Set(["INSERT", "UPDATE", "DELETE", "REPLACE"]);

export async function runDataStatement(session: TsqlSession, statement: DataStatement,
  out: ResponseStream, done: DoneChain, parameters: StatementParameters): Promise<void> {
  refuseReservedNames(statement);
  const sql = rewriteForSession(session, statement, parameters);
  const verb = firstKeyword(sql);
  const storage = session.storageSession();
  // Result sets come back already encoded as TDS tokens by the thread that ran the statement.
  const result = statement.catalogViews.length > 0
    ? await storage.executeCatalog(sql, bindings(parameters), await viewTables(session, statement), { encode: true })
    : await storage.execute(sql, bindings(parameters), { encode: true });
  const counted = session.settings.nocount ? 0 : DoneStatus.COUNT;
  if (result.encoded !== undefined) {
    done.release();
    out.tokens.encoded(result.encoded);
    const rowCount = result.rowCount ?? 0;
    session.rowcount = rowCount;
    done.statementDone(counted, CUR_CMD.SELECT!, rowCount);
    return;
  }
  session.rowcount = result.changes;
  if (verb === "INSERT" && result.changes > 0) session.identity = result.lastInsertRowid;
  done.statementDone(COUNTED.has(verb) ? counted : 0, CUR_CMD[verb] ?? 0, result.changes);
}

/** The catalog views' rows; database users (and master's, for certificate owners) are read first. */
async function viewTables(session: TsqlSession, statement: DataStatement) {
  const instance = session.instance;
  if (statement.catalogViews.includes("database_principals") || statement.catalogViews.includes("certificates")) {
    for (const name of [session.databaseName, "master"]) {
      const target = instance.database(name);
      if (target !== null) await instance.principals.load(target.entry.id, target.db);
    }
  }
  return catalogTables(instance, statement.catalogViews, { databaseId: session.databaseId,
    loginName: session.login.name, sysadmin: session.isSysadmin });
}

/** User SQL cannot reach the engine's own tables (database users live in `__ml_…`). */
function refuseReservedNames(statement: DataStatement): void {
  for (const token of statement.tokens) {
    if ((token.kind === "word" || token.kind === "quoted") && token.value.toLowerCase().startsWith("__ml_")) {
      throw new SqlError("INVALID_OBJECT_NAME", [token.value]);
    }
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
