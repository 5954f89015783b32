// DDL rewrites: T-SQL table and index definitions in SQLite's dialect. Types keep their
// T-SQL spelling (SQLite stores the declared type, and the TDS layer maps it back), so only
// what SQLite cannot parse changes: (MAX), IDENTITY, CLUSTERED, filegroups, TRUNCATE TABLE,
// DROP INDEX … ON t.

import type { Edits } from "./edits.js";
import { isOp, isWord, wordOf } from "./edits.js";
import type { RewriteRun } from "./rewrite_context.js";
import { unsupported } from "./errors.js";
import { readChain } from "./names.js";

/** The length SQL Server reports for (MAX) types; the TDS layer maps it back to MAX. */
export const maxLength = "2147483647";

const maxTypes = new Set(["VARCHAR", "NVARCHAR", "VARBINARY"]);
const identityTypes = new Set(["INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "NUMERIC", "DECIMAL"]);
const tableConstraintWords = new Set(["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "INDEX"]);

export function rewriteDdl(run: RewriteRun): void {
  const { edits } = run;
  const first = wordOf(edits.tokens[0]);
  const second = wordOf(edits.tokens[1]);
  edits.tokens.forEach((token, index) => {
    const word = wordOf(token);
    if (word === "CLUSTERED" || word === "NONCLUSTERED") edits.remove(index);
    if (word === "MAX") rewriteMax(edits, index);
  });
  if (first === "TRUNCATE") {
    edits.replace(0, "DELETE");
    edits.replace(1, "FROM");
  }
  if (first === "DROP" && second === "INDEX") rewriteDropIndex(edits);
  if (first === "CREATE" && second !== "VIEW" && second !== "TRIGGER") dropStorageClauses(edits);
  const handled = first === "CREATE" && second === "TABLE" ? rewriteCreateTable(edits) : -1;
  const identity = edits.tokens.findIndex((token, index) => isWord(token, "IDENTITY") && index !== handled);
  if (identity >= 0) throw unsupported("IDENTITY", edits.tokens[identity]!.line);
}

/** NVARCHAR(MAX) → NVARCHAR(2147483647): SQLite keeps the declared type as written. */
function rewriteMax(edits: Edits, index: number): void {
  const { tokens } = edits;
  const type = tokens[index - 2];
  const typeName = type?.kind === "word" || type?.kind === "quoted" ? type.value.toUpperCase() : "";
  if (maxTypes.has(typeName) && isOp(tokens[index - 1], "(") && isOp(tokens[index + 1], ")")) {
    edits.replace(index, maxLength);
  }
}

/** DROP INDEX [IF EXISTS] ix ON t and DROP INDEX t.ix → DROP INDEX ix (names are per database). */
function rewriteDropIndex(edits: Edits): void {
  let at = 2;
  if (isWord(edits.tokens[at], "IF") && isWord(edits.tokens[at + 1], "EXISTS")) at += 2;
  const chain = readChain(edits.tokens, at);
  if (chain === null) return;
  if (isWord(edits.tokens[chain.end], "ON")) {
    edits.remove(chain.end, edits.tokens.length - 1);
  } else if (chain.parts.length >= 2) {
    edits.remove(at, chain.indexes[chain.indexes.length - 1]! - 1);
  }
}

interface Element { from: number; to: number }

/**
 * CREATE TABLE: drops filegroup clauses after the column list and turns the IDENTITY column
 * into SQLite's INTEGER PRIMARY KEY AUTOINCREMENT (the rowid, which is what makes it an
 * identity). Returns the index of the IDENTITY token it handled, or -1.
 */
function rewriteCreateTable(edits: Edits): number {
  const { tokens, match } = edits;
  const open = tokens.findIndex((token, index) => isOp(token, "(") && edits.depth[index] === 0);
  if (open < 0 || match[open]! < 0) return -1;
  const asIndex = tokens.findIndex((token, index) => index < open && isWord(token, "AS"));
  if (asIndex >= 0) return -1;
  const close = match[open]!;
  const elements = splitElements(edits, open, close);
  const columns = elements.filter((element) => !isTableConstraint(edits, element));
  const identities = columns.filter((column) => findWord(edits, column, "IDENTITY") >= 0);
  if (identities.length === 0) return -1;
  const column = identities[0]!;
  if (identities.length > 1) {
    throw unsupported("IDENTITY", tokens[findWord(edits, identities[1]!, "IDENTITY")]!.line);
  }
  return rewriteIdentityColumn(edits, column, elements);
}

// Index options SSMS scripts after a key or index column list: WITH (PAD_INDEX = OFF, …).
const indexOptionWords = new Set([
  "PAD_INDEX", "STATISTICS_NORECOMPUTE", "IGNORE_DUP_KEY", "ALLOW_ROW_LOCKS", "ALLOW_PAGE_LOCKS",
  "FILLFACTOR", "OPTIMIZE_FOR_SEQUENTIAL_KEY", "DATA_COMPRESSION", "SORT_IN_TEMPDB", "ONLINE",
  "DROP_EXISTING", "MAXDOP",
]);

/**
 * Storage clauses of CREATE TABLE / CREATE INDEX that SQLite has no use for: filegroups
 * (ON [PRIMARY], TEXTIMAGE_ON [PRIMARY] after a ")") and index options WITH (PAD_INDEX …).
 * ON DELETE / ON UPDATE / ON CONFLICT are constraint clauses and stay.
 */
function dropStorageClauses(edits: Edits): void {
  const { tokens } = edits;
  for (let index = 1; index < tokens.length; index += 1) {
    const word = wordOf(tokens[index]);
    const next = tokens[index + 1];
    if (word === "WITH" && isOp(next, "(") && indexOptionWords.has(wordOf(tokens[index + 2]))) {
      edits.remove(index, edits.match[index + 1]!);
      continue;
    }
    const filegroup = word === "TEXTIMAGE_ON" || (word === "ON" && isOp(tokens[index - 1], ")"));
    const clause = ["DELETE", "UPDATE", "CONFLICT"].includes(wordOf(next));
    if (filegroup && !clause && next !== undefined && (next.kind === "word" || next.kind === "quoted")) {
      edits.remove(index, index + 1);
    }
  }
}

function splitElements(edits: Edits, open: number, close: number): Element[] {
  const elements: Element[] = [];
  let from = open + 1;
  for (let index = open + 1; index <= close; index += 1) {
    if (isOp(edits.tokens[index], "(") && edits.match[index]! > index && index !== close) {
      index = edits.match[index]!;
      continue;
    }
    if (index === close || isOp(edits.tokens[index], ",")) {
      if (index > from) elements.push({ from, to: index });
      from = index + 1;
    }
  }
  return elements;
}

function isTableConstraint(edits: Edits, element: Element): boolean {
  return tableConstraintWords.has(wordOf(edits.tokens[element.from]));
}

/** Index of `word` at the element's own paren level, or -1. */
function findWord(edits: Edits, element: Element, word: string): number {
  const level = edits.depth[element.from]!;
  for (let index = element.from; index < element.to; index += 1) {
    if (edits.depth[index] === level && isWord(edits.tokens[index], word)) return index;
  }
  return -1;
}

/**
 * name type [(p, s)] … IDENTITY[(1, 1)] … → name INTEGER … PRIMARY KEY AUTOINCREMENT …. The
 * column must be (or become) the table's only primary key column: an inline PRIMARY KEY, a
 * table PRIMARY KEY (column) (then removed), or no primary key at all.
 */
function rewriteIdentityColumn(edits: Edits, column: Element, elements: Element[]): number {
  const { tokens } = edits;
  const identity = findWord(edits, column, "IDENTITY");
  const line = tokens[identity]!.line;
  const argumentsEnd = identityArgumentsEnd(edits, identity);
  const typeIndex = column.from + 1;
  const type = tokens[typeIndex];
  const typeName = type?.kind === "word" || type?.kind === "quoted" ? type.value.toUpperCase() : "";
  if (!identityTypes.has(typeName)) throw unsupported(`IDENTITY on type ${typeName}`, line);
  const typeEnd = isOp(tokens[typeIndex + 1], "(") ? edits.match[typeIndex + 1]! : typeIndex;
  const inlineKey = findWord(edits, column, "PRIMARY");
  const otherKeys = elements.filter((element) =>
    element !== column && findWord(edits, element, "PRIMARY") >= 0);
  const tableKey = otherKeys[0];
  if (tableKey !== undefined && (otherKeys.length > 1 || !isTableConstraint(edits, tableKey)
    || !keyIsOnly(edits, tableKey, tokens[column.from]!.value))) {
    throw unsupported("IDENTITY column outside the PRIMARY KEY", line);
  }
  edits.replace(typeIndex, "INTEGER");
  if (typeEnd > typeIndex) edits.remove(typeIndex + 1, typeEnd);
  if (inlineKey >= 0) {
    edits.remove(identity, argumentsEnd);
    edits.after(keyEnd(edits, inlineKey), " AUTOINCREMENT");
  } else {
    edits.replace(identity, "PRIMARY KEY AUTOINCREMENT");
    if (argumentsEnd > identity) edits.remove(identity + 1, argumentsEnd);
  }
  if (tableKey !== undefined) edits.remove(tableKey.from - 1, tableKey.to - 1);
  return identity;
}

/** Last token of IDENTITY[(seed, increment)]; any seed or increment but 1 is refused. */
function identityArgumentsEnd(edits: Edits, identity: number): number {
  const open = identity + 1;
  if (!isOp(edits.tokens[open], "(")) return identity;
  const close = edits.match[open]!;
  const text = close > open ? edits.source(open + 1, close - 1).replace(/\s+/g, "") : "";
  if (text !== "1,1") throw unsupported(`IDENTITY(${text})`, edits.tokens[identity]!.line);
  return close;
}

/** Does the table constraint PRIMARY KEY (…) list exactly `column`? */
function keyIsOnly(edits: Edits, element: Element, column: string): boolean {
  const open = edits.tokens.findIndex((token, index) =>
    index > element.from && index < element.to && isOp(token, "("));
  if (open < 0) return false;
  const names: string[] = [];
  for (let index = open + 1; index < edits.match[open]!; index += 1) {
    const token = edits.tokens[index]!;
    const word = wordOf(token);
    if ((token.kind === "word" || token.kind === "quoted") && word !== "ASC" && word !== "DESC") {
      names.push(token.value.toLowerCase());
    }
  }
  return names.length === 1 && names[0] === column.toLowerCase();
}

/** The token after which AUTOINCREMENT goes: PRIMARY KEY [ASC | DESC], CLUSTERED removed. */
function keyEnd(edits: Edits, primary: number): number {
  let end = primary + 1;
  for (;;) {
    const word = wordOf(edits.tokens[end + 1]);
    if (!["ASC", "DESC", "CLUSTERED", "NONCLUSTERED"].includes(word)) return end;
    end += 1;
  }
}
