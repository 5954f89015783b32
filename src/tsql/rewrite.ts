// Data statements in SQLite's dialect (DESIGN §3b): a small token-level rewrite of the T-SQL
// forms clients send, each rule in one place and tested (test/tsql_test.ts). A construct no
// rule can express is refused with an error naming it, never passed through to fail later
// with a SQLite message that names something the client did not write.

import { Edits } from "./edits.js";
import type { DataStatement } from "./statements.js";
import { probeContextWith, type RewriteContext, type RewriteRun } from "./rewrite_context.js";
import { rewriteQueries } from "./rewrite_query.js";
import { rewriteDdl } from "./rewrite_ddl.js";
import { rejectUnsupported, rewriteExpressions } from "./rewrite_expr.js";

export type { RewriteContext } from "./rewrite_context.js";

/**
 * The SQLite text of a data statement, with the session's values (`context`) as literals.
 * Call it right before running the statement: @@ROWCOUNT, @@TRANCOUNT and SCOPE_IDENTITY()
 * are read from the context at that moment. Throws SqlError 40513 / 40515 / 40517 (with
 * the batch line) for what it cannot express; parseBatch has already refused everything
 * that does not depend on the context.
 *
 * Rules, in the order they claim tokens (the first rule to replace a token wins):
 *  - @variables and #temporary tables → 40517.
 *  - SELECT [DISTINCT] TOP n | TOP (n) → … LIMIT n at the end of that SELECT (subquery,
 *    compound member); TOP … PERCENT, WITH TIES, UPDATE/DELETE TOP → 40517.
 *    OFFSET n ROWS [FETCH NEXT m ROWS ONLY] → LIMIT m OFFSET n.
 *  - main query columns: unaliased expressions get AS "" (SQL Server's empty name);
 *    `name = expression` → `expression AS "name"`; SELECT … INTO → 40517.
 *  - NVARCHAR/VARCHAR/VARBINARY(MAX) → (2147483647); CLUSTERED/NONCLUSTERED dropped;
 *    ON [PRIMARY], TEXTIMAGE_ON, WITH (PAD_INDEX …) dropped; TRUNCATE TABLE → DELETE FROM;
 *    DROP INDEX ix ON t / t.ix → DROP INDEX ix; an IDENTITY(1,1) column → INTEGER PRIMARY
 *    KEY AUTOINCREMENT (other seeds, or a column outside the primary key → 40517).
 *  - @@ROWCOUNT @@TRANCOUNT @@SPID @@VERSION @@SERVERNAME @@IDENTITY, SCOPE_IDENTITY(),
 *    DB_ID(), DB_NAME() → literals; other @@variables → 40513.
 *  - GETDATE() SYSDATETIME() CURRENT_TIMESTAMP → local time, GETUTCDATE() SYSUTCDATETIME()
 *    → UTC, as (strftime('%Y-%m-%d %H:%M:%f', 'now'[, 'localtime'])).
 *  - ISNULL → ifnull; LEN(x) → length(rtrim(x)); OBJECT_ID('t'[, 'U'|'V'|'TR']) → rowid in
 *    sqlite_schema or NULL.
 *  - sys.x / db.sys.x → "sys.x"; msdb.dbo.x → "msdb.dbo.x"; dbo.t and current_db.dbo.t
 *    → t; another database → 40515; [name] → "name".
 *  - N'…' → '…'; + next to a string literal → || for its whole chain of operands.
 */
export function rewriteData(statement: DataStatement, context: RewriteContext): string {
  return rewriteTokens(statement, context, false);
}

/**
 * Applies every rule with no session, discarding the text: throws the errors that do not
 * depend on the session, so that parseBatch refuses the whole batch before any of it runs.
 */
export function checkData(statement: DataStatement, parameters?: ReadonlySet<string>): void {
  rewriteTokens(statement, probeContextWith(parameters), true);
}

function rewriteTokens(statement: DataStatement, context: RewriteContext, probe: boolean): string {
  const run: RewriteRun = { edits: new Edits(statement.tokens), context, probe };
  rejectUnsupported(run);
  rewriteQueries(run);
  rewriteDdl(run);
  rewriteExpressions(run);
  return run.edits.render();
}
