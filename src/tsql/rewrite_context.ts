// What a data-statement rewrite needs from the session, and the state one rewrite carries.

import type { Edits } from "./edits.js";

/**
 * Session facts the rewrite turns into literals: SQLite cannot see the session, so
 * @@SPID, DB_NAME(), @@TRANCOUNT and the like become constants of the statement text.
 * The server takes them just before it runs the statement (@@ROWCOUNT is the count of the
 * previous statement, `identity` the last identity value of the session's scope).
 */
export interface RewriteContext {
  spid: number;
  databaseName: string;
  databaseId: number;
  serverName: string;
  version: string;
  trancount: number;
  rowcount: number;
  identity: number | bigint | null;
  /** SERVERPROPERTY('name') values, keyed by upper-cased property name. */
  serverProperties?: ReadonlyMap<string, string | number>;
  /** Parameters of sp_executesql / sp_prepare (lower-cased, with '@'): kept for SQLite to bind. */
  parameters?: ReadonlySet<string>;
}

/** One rewrite in progress. In a probe, checks that depend on the context are skipped. */
export interface RewriteRun {
  edits: Edits;
  context: RewriteContext;
  probe: boolean;
}

/** The context of the parse-time check (checkData): no session yet. */
export const probeContext: RewriteContext = {
  spid: 0, databaseName: "", databaseId: 0, serverName: "", version: "",
  trancount: 0, rowcount: 0, identity: null,
};

/** The parse-time context of a parameterised statement: its parameters are known. */
export function probeContextWith(parameters: ReadonlySet<string> | undefined): RewriteContext {
  return parameters === undefined ? probeContext : { ...probeContext, parameters };
}
