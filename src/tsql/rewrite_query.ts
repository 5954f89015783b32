// Query rewrites: TOP n → LIMIT n at the end of its SELECT, OFFSET … FETCH → LIMIT … OFFSET,
// and the column names of a query's result (SQL Server names an unaliased expression "").

import type { Token } from "./lexer.js";
import type { Edits } from "./edits.js";
import { isOp, isWord, wordOf } from "./edits.js";
import type { RewriteRun } from "./rewrite_context.js";
import { unsupported } from "./errors.js";
import { tokenError } from "./cursor.js";
import { isReserved } from "./keywords.js";
import { quoteName, readChain } from "./names.js";

const setOperators = new Set(["UNION", "EXCEPT", "INTERSECT"]);

/**
 * Rewrites INSERT t / DELETE t (T-SQL's optional INTO and FROM, which SQLite requires),
 * every TOP and OFFSET … FETCH, then names the main query's result columns.
 */
export function rewriteQueries(run: RewriteRun): void {
  const { edits } = run;
  edits.tokens.forEach((token, index) => {
    if (isWord(token, "INSERT")) addOptionalWord(edits, index, "INTO");
    if (isWord(token, "DELETE")) addOptionalWord(edits, index, "FROM");
    if (isWord(token, "TOP")) rewriteTop(edits, index);
    if (isWord(token, "OFFSET")) rewriteOffset(edits, index);
    if (isWord(token, "WITH")) dropTableHints(edits, index);
  });
  nameResultColumns(edits);
}

/**
 * INSERT t … → INSERT INTO t …: only when a table name follows, so not in a trigger's
 * AFTER INSERT ON or a foreign key's ON DELETE NO ACTION.
 */
function addOptionalWord(edits: Edits, keyword: number, word: string): void {
  if (isWord(edits.tokens[keyword - 1], "ON")) return;
  const next = edits.tokens[keyword + 1];
  const isTable = next?.kind === "quoted" || (next?.kind === "word" && !isReserved(next.text));
  if (isTable) edits.after(keyword, ` ${word}`);
}

/** The SELECT a TOP belongs to: SELECT [ALL | DISTINCT] TOP; -1 for UPDATE/DELETE TOP. */
function selectOfTop(edits: Edits, top: number): number {
  const before = wordOf(edits.tokens[top - 1]);
  if (before === "SELECT") return top - 1;
  if ((before === "ALL" || before === "DISTINCT") && isWord(edits.tokens[top - 2], "SELECT")) return top - 2;
  return -1;
}

/** Index of the last token of TOP's argument: a number or a parenthesized expression. */
function topArgumentEnd(edits: Edits, top: number): number {
  const argument = edits.tokens[top + 1];
  if (argument === undefined) throw tokenError(edits.tokens[top]!);
  if (isOp(argument, "(") && edits.match[top + 1]! > top + 1) return edits.match[top + 1]!;
  if (argument.kind === "number") return top + 1;
  throw tokenError(argument);
}

/**
 * SELECT TOP n … → SELECT … LIMIT n, the LIMIT placed at the end of that SELECT's scope:
 * before the ")" of its subquery, or at the end of the statement. In a UNION/EXCEPT/
 * INTERSECT, where SQLite allows LIMIT only on the whole, the member becomes a subquery:
 * SELECT * FROM (SELECT … LIMIT n). The argument's source text is moved as written.
 */
function rewriteTop(edits: Edits, top: number): void {
  const line = edits.tokens[top]!.line;
  const select = selectOfTop(edits, top);
  if (select < 0) throw unsupported("TOP", line);
  const argumentEnd = topArgumentEnd(edits, top);
  const following = edits.tokens[argumentEnd + 1];
  if (isWord(following, "PERCENT")) throw unsupported("TOP … PERCENT", line);
  if (isWord(following, "WITH") && isWord(edits.tokens[argumentEnd + 2], "TIES")) {
    throw unsupported("TOP … WITH TIES", line);
  }
  const limit = `LIMIT ${edits.source(top + 1, argumentEnd)}`;
  edits.remove(top, argumentEnd);
  const scope = selectScope(edits, select);
  if (!scope.compound) {
    edits.insertClause(scope.end, limit);
    return;
  }
  edits.before(select, "SELECT * FROM (");
  edits.insertClause(scope.memberEnd, `${limit})`);
}

interface SelectScope {
  /** Index where the SELECT's scope ends (a ")", ";" or tokens.length). */
  end: number;
  /** Whether the SELECT is a member of a UNION / EXCEPT / INTERSECT. */
  compound: boolean;
  /** Where the member ends: the next set operator, else the compound's ORDER BY, else end. */
  memberEnd: number;
}

function selectScope(edits: Edits, select: number): SelectScope {
  const { tokens, match } = edits;
  let compound = false;
  for (let index = select - 1; index >= 0; index -= 1) {
    const token = tokens[index]!;
    if (isOp(token, ")") && match[index]! >= 0) index = match[index]!;
    else if (isOp(token, "(") || isOp(token, ";")) break;
    else if (setOperators.has(wordOf(token))) compound = true;
  }
  let memberEnd = -1;
  let orderBy = -1;
  let end = select + 1;
  for (; end < tokens.length; end += 1) {
    const token = tokens[end]!;
    if (isOp(token, "(") && match[end]! > end) {
      end = match[end]!;
      continue;
    }
    if (isOp(token, ")") || isOp(token, ";")) break;
    const word = wordOf(token);
    if (setOperators.has(word) && memberEnd < 0) memberEnd = end;
    if (word === "ORDER" && orderBy < 0) orderBy = end;
  }
  compound = compound || memberEnd >= 0;
  if (memberEnd < 0) memberEnd = orderBy >= 0 ? orderBy : end;
  return { end, compound, memberEnd };
}

/**
 * OFFSET n ROW[S] [FETCH {FIRST | NEXT} m ROW[S] ONLY] → LIMIT m OFFSET n (LIMIT -1 when
 * there is no FETCH: SQLite's "no limit").
 */
function rewriteOffset(edits: Edits, offset: number): void {
  const { tokens } = edits;
  const offsetEnd = argumentEnd(edits, offset + 1);
  if (offsetEnd < 0 || !isRows(tokens[offsetEnd + 1])) return;
  let last = offsetEnd + 1;
  let fetch = "-1";
  if (isWord(tokens[last + 1], "FETCH")) {
    const fetchEnd = argumentEnd(edits, last + 3);
    if (fetchEnd < 0 || !isRows(tokens[fetchEnd + 1]) || !isWord(tokens[fetchEnd + 2], "ONLY")) {
      throw tokenError(tokens[last + 1]!);
    }
    fetch = edits.source(last + 3, fetchEnd);
    last = fetchEnd + 2;
  }
  edits.replace(offset, `LIMIT ${fetch} OFFSET ${edits.source(offset + 1, offsetEnd)}`);
  edits.remove(offset + 1, last);
}

/** Locking and index hints: SQLite locks whole databases and plans on its own. */
const tableHints = new Set([
  "NOLOCK", "READUNCOMMITTED", "READCOMMITTED", "READCOMMITTEDLOCK", "REPEATABLEREAD",
  "SERIALIZABLE", "HOLDLOCK", "UPDLOCK", "XLOCK", "ROWLOCK", "PAGLOCK", "TABLOCK", "TABLOCKX",
  "READPAST", "NOWAIT", "INDEX", "FORCESEEK", "FORCESCAN", "NOEXPAND",
]);

/** FROM t WITH (NOLOCK, INDEX(ix)) → FROM t: a hint changes locking or plans, never results. */
function dropTableHints(edits: Edits, withIndex: number): void {
  const open = withIndex + 1;
  if (!isOp(edits.tokens[open], "(") || !tableHints.has(wordOf(edits.tokens[open + 1]))) return;
  edits.remove(withIndex, edits.match[open]!);
}

function argumentEnd(edits: Edits, at: number): number {
  const token = edits.tokens[at];
  if (token?.kind === "number") return at;
  if (isOp(token, "(")) return edits.match[at]!;
  return -1;
}

function isRows(token: Token | undefined): boolean {
  const word = wordOf(token);
  return word === "ROW" || word === "ROWS";
}

/** Words that end a select list at its own paren depth. */
const selectListEnd = new Set([
  "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "UNION", "EXCEPT", "INTERSECT", "INTO", "WINDOW",
  "LIMIT", "OFFSET", "FOR", "OPTION",
]);

/**
 * Names the result columns of the statement's main query (its first SELECT at depth 0, for
 * SELECT … and WITH … SELECT; other statements return no rows). SQL Server names a column
 * after its alias or its bare column reference and leaves every other expression unnamed;
 * SQLite would name it after its text, so those get AS "". The T-SQL alias form
 * `name = expression` becomes `expression AS name`.
 */
function nameResultColumns(edits: Edits): void {
  const select = mainSelect(edits);
  if (select < 0) return;
  const { tokens, match } = edits;
  let itemStart = selectListStart(edits, select);
  for (let index = itemStart; ; index += 1) {
    const token = tokens[index];
    if (isOp(token, "(") && match[index]! > index) {
      index = match[index]!;
      continue;
    }
    const word = wordOf(token);
    const atEnd = token === undefined || isOp(token, ")") || isOp(token, ";") || selectListEnd.has(word);
    if (!atEnd && !isOp(token, ",")) continue;
    if (word === "INTO") throw unsupported("SELECT INTO", token!.line);
    nameItem(edits, itemStart, index);
    if (atEnd) return;
    itemStart = index + 1;
  }
}

function mainSelect(edits: Edits): number {
  const first = wordOf(edits.tokens[0]);
  if (first === "SELECT") return 0;
  if (first !== "WITH") return -1;
  const main = edits.tokens.findIndex((token, index) =>
    edits.depth[index] === 0 && ["SELECT", "INSERT", "UPDATE", "DELETE"].includes(wordOf(token)));
  return main >= 0 && isWord(edits.tokens[main], "SELECT") ? main : -1;
}

/** The first token of the select list: after SELECT [ALL | DISTINCT] [TOP n [PERCENT]]. */
function selectListStart(edits: Edits, select: number): number {
  let index = select + 1;
  const word = wordOf(edits.tokens[index]);
  if (word === "ALL" || word === "DISTINCT") index += 1;
  if (isWord(edits.tokens[index], "TOP")) index = topArgumentEnd(edits, index) + 1;
  return index;
}

/** Names one select-list item, the tokens [from, to). */
function nameItem(edits: Edits, from: number, to: number): void {
  const { tokens } = edits;
  if (to <= from) return;
  const first = tokens[from]!;
  const last = tokens[to - 1]!;
  if (to - from >= 3 && isOp(tokens[from + 1], "=") && isAliasName(first)) {
    edits.remove(from, from + 1);
    edits.after(to - 1, ` AS ${quoteName(first.value)}`);
    return;
  }
  if (isOp(last, "*")) return;
  if (to - from >= 2 && isWord(tokens[to - 2], "AS")) return;
  if (isBareColumn(edits, from, to) || hasImplicitAlias(edits, from, to)) return;
  edits.after(to - 1, ' AS ""');
}

function isAliasName(token: Token): boolean {
  if (token.kind === "quoted" || token.kind === "string" || token.kind === "nstring") return true;
  return token.kind === "word" && !isReserved(token.text);
}

/** name, t.name, [db].[t].[name]: a column reference SQL Server names after its last part. */
function isBareColumn(edits: Edits, from: number, to: number): boolean {
  const chain = readChain(edits.tokens, from);
  if (chain === null || chain.end !== to) return false;
  return chain.indexes.every((index) => {
    const token = index < 0 ? undefined : edits.tokens[index];
    return token !== undefined && (token.kind === "quoted" || !isReserved(token.text));
  });
}

/** expression alias (no AS): the last token is a name and the one before it ends a value. */
function hasImplicitAlias(edits: Edits, from: number, to: number): boolean {
  if (to - from < 2) return false;
  const last = edits.tokens[to - 1]!;
  const previous = edits.tokens[to - 2]!;
  const lastIsName = last.kind === "quoted" || last.kind === "string"
    || (last.kind === "word" && !isReserved(last.text));
  if (!lastIsName) return false;
  switch (previous.kind) {
    case "number": case "string": case "nstring": case "binary": case "quoted": case "sysvar":
      return true;
    case "word":
      return !isReserved(previous.text);
    case "op":
      return previous.text === ")";
    default:
      return false;
  }
}
