// SQLite's error messages mapped to the SQL Server errors a client expects for the same fault;
// anything unrecognised keeps SQLite's text under 50000.
import { SqlError } from "../errors/sql_error.js";
import type { ErrorName } from "../errors/catalog.js";

const RULES: readonly { pattern: RegExp; error: ErrorName }[] = [
  { pattern: /^no such table: (?:main\.)?(.+)$/, error: "INVALID_OBJECT_NAME" },
  { pattern: /^no such column: (.+)$/, error: "INVALID_COLUMN_NAME" },
  { pattern: /^(?:table|index|view|trigger) "?([^"\s]+)"? already exists$/, error: "OBJECT_ALREADY_EXISTS" },
  { pattern: /^UNIQUE constraint failed: (.+)$/, error: "DUPLICATE_KEY" },
  { pattern: /^NOT NULL constraint failed: (.+)$/, error: "NULL_NOT_ALLOWED" },
  { pattern: /^((?:CHECK|FOREIGN KEY) constraint failed.*)$/, error: "CONSTRAINT_CONFLICT" },
  { pattern: /^near "(.*)": syntax error$/, error: "SQL_SYNTAX_ERROR" },
  { pattern: /^incomplete input$/, error: "SQL_SYNTAX_ERROR" },
];

export function sqlErrorFromSqlite(message: string, code: string): SqlError {
  if (code === "SQLITE_INTERRUPT") return new SqlError("QUERY_CANCELLED");
  if (code === "CATALOG_READ_ONLY") return new SqlError("CATALOG_READ_ONLY");
  if (code === "RESULT_TOO_LARGE") return new SqlError("INSUFFICIENT_MEMORY", ["default"]);
  for (const rule of RULES) {
    const match = rule.pattern.exec(message);
    if (match !== null) return new SqlError(rule.error, [match[1] ?? "end of batch"]);
  }
  return new SqlError("SQLITE_STATEMENT", [message]);
}
