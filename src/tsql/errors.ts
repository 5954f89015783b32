// Parse errors of the T-SQL front end carry the batch line of the token that caused them.
// SqlError has no line field (the TDS ERROR token's line is filled in by the server), so the
// front end attaches one as a plain property rather than changing the shared error class.

import { SqlError } from "../errors/sql_error.js";
import type { ErrorName } from "../errors/catalog.js";

/** A SqlError thrown by src/tsql: `line` is the 1-based line within the batch. */
export type LinedSqlError = SqlError & { line?: number };

/**
 * Builds the client-visible error `name` (a key of errorCatalog) and records `line`, the
 * 1-based line within the batch where the offending token starts. The server adds the
 * batch's first script line when it reports it (sqlcmd numbers lines per batch, as we do).
 */
export function syntaxError(name: ErrorName, args: readonly (string | number)[], line: number): SqlError {
  const error = new SqlError(name, args);
  (error as LinedSqlError).line = line;
  return error;
}

/** The batch line a front-end error was raised at, or undefined for any other error. */
export function errorLine(error: unknown): number | undefined {
  if (!(error instanceof SqlError)) return undefined;
  return (error as LinedSqlError).line;
}

/** 40517, naming the construct: the one error for T-SQL the server does not run. */
export function unsupported(construct: string, line: number): SqlError {
  return syntaxError("UNSUPPORTED_KEYWORD", [construct], line);
}
