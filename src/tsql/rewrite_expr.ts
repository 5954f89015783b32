// Expression and name rewrites: quoted identifiers, schema and database prefixes, catalog
// views, T-SQL functions and @@variables, N'…' literals and string concatenation with +.

import type { Token } from "./lexer.js";
import type { Edits } from "./edits.js";
import { isOp, wordOf } from "./edits.js";
import type { RewriteRun } from "./rewrite_context.js";
import { syntaxError, unsupported } from "./errors.js";
import { catalogObject, isOpenParen, quoteName, quoteString, readChain } from "./names.js";

/**
 * Refuses what no rewrite can express: @variables (other than the statement's declared
 * parameters, which SQLite binds by name) and #temporary tables.
 */
export function rejectUnsupported(run: RewriteRun): void {
  const parameters = run.context.parameters;
  for (const [index, token] of run.edits.tokens.entries()) {
    if (token.kind === "variable") {
      const name = token.text.toLowerCase();
      if (parameters === undefined || !parameters.has(name)) throw unsupported(token.text, token.line);
      // T-SQL parameter names are case-insensitive; SQLite's are not.
      run.edits.replace(index, name);
      continue;
    }
    if (token.kind === "word" && token.text.startsWith("#")) throw unsupported(token.text, token.line);
  }
}

/** Runs the name, function, variable, literal and concatenation rules over the statement. */
export function rewriteExpressions(run: RewriteRun): void {
  const { edits } = run;
  for (let index = 0; index < edits.tokens.length; index += 1) {
    const token = edits.tokens[index]!;
    if (token.kind === "sysvar") rewriteSystemVariable(run, index);
    if (token.kind === "nstring") edits.replace(index, token.text.slice(1));
    // 0x… is a binary literal in T-SQL but a hex integer in SQLite; X'…' is SQLite's blob.
    if (token.kind === "binary") edits.replace(index, binaryLiteral(token.text));
    if (isOp(token, "+")) concatenate(edits, index);
    const chain = readChain(edits.tokens, index);
    if (chain === null) continue;
    if (chain.parts.length === 1 && token.kind === "word" && rewriteFunction(run, index)) continue;
    rewriteName(run, index);
  }
}

function binaryLiteral(text: string): string {
  const hex = text.slice(2);
  return `X'${hex.length % 2 === 1 ? `0${hex}` : hex}'`;
}

/** Literal forms of session values. */
function literal(value: string | number | bigint | null): string {
  if (value === null) return "NULL";
  return typeof value === "string" ? quoteString(value) : String(value);
}

function rewriteSystemVariable(run: RewriteRun, index: number): void {
  const { context } = run;
  const token = run.edits.tokens[index]!;
  const values: Record<string, string | number | bigint | null> = {
    "@@ROWCOUNT": context.rowcount, "@@TRANCOUNT": context.trancount, "@@SPID": context.spid,
    "@@VERSION": context.version, "@@SERVERNAME": context.serverName, "@@IDENTITY": context.identity,
  };
  const name = token.text.toUpperCase();
  if (!(name in values)) throw syntaxError("SERVER_VARIABLE_UNSUPPORTED", [token.text], token.line);
  run.edits.replace(index, literal(values[name]!));
}

/**
 * A multi-part name: catalog objects become the server's catalog tables ("sys.databases"),
 * dbo and the current database are dropped (SQLite has one schema per file), another
 * database is refused with 40515, and [quoted] parts become "quoted".
 */
function rewriteName(run: RewriteRun, index: number): void {
  const { edits } = run;
  const chain = readChain(edits.tokens, index)!;
  const lower = chain.parts.map((part) => part.toLowerCase());
  const called = isOpenParen(edits.tokens[chain.end]);
  const catalog = called ? null : catalogObject(chain.parts);
  const lastOf = (part: number): number => chain.indexes[part]!;
  if (catalog !== null) {
    edits.replace(index, quoteName(catalog.table));
    edits.remove(index + 1, lastOf(catalog.partsUsed - 1));
  } else if (lower.length >= 2 && lower[0] === "dbo") {
    edits.remove(index, index + 1);
  } else if (lower.length >= 3 && (lower[1] === "dbo" || lower[1] === "")) {
    const current = run.context.databaseName.toLowerCase();
    if (!run.probe && lower[0] !== current) {
      const text = edits.source(index, chain.end - 1);
      throw syntaxError("CROSS_DATABASE_REFERENCE", [text], edits.tokens[index]!.line);
    }
    edits.remove(index, lastOf(2) - 1);
  }
  for (const part of chain.indexes) {
    const token = part < 0 ? undefined : edits.tokens[part];
    if (token?.kind === "quoted") edits.replace(part, quoteName(token.value));
  }
}

/** Argument ranges [from, to] (inclusive) of the call whose "(" is at `open`. */
function callArguments(edits: Edits, open: number): Array<[number, number]> {
  const close = edits.match[open]!;
  const ranges: Array<[number, number]> = [];
  let from = open + 1;
  for (let index = open + 1; index <= close; index += 1) {
    if (isOpenParen(edits.tokens[index]) && edits.match[index]! > index) {
      index = edits.match[index]!;
      continue;
    }
    if (index === close || isOp(edits.tokens[index], ",")) {
      if (index > from) ranges.push([from, index - 1]);
      from = index + 1;
    }
  }
  return ranges;
}

/** The single literal argument of a call, or undefined. */
function soleLiteral(edits: Edits, ranges: Array<[number, number]>): Token | undefined {
  const range = ranges[0];
  if (ranges.length !== 1 || range === undefined || range[0] !== range[1]) return undefined;
  return edits.tokens[range[0]];
}

/** SQL Server's datetime text form, 'YYYY-MM-DD hh:mm:ss.fff', as SQLite computes it. */
function now(local: boolean): string {
  return `(strftime('%Y-%m-%d %H:%M:%f', 'now'${local ? ", 'localtime'" : ""}))`;
}

const clockFunctions: ReadonlyMap<string, boolean> = new Map([
  ["GETDATE", true], ["SYSDATETIME", true], ["GETUTCDATE", false], ["SYSUTCDATETIME", false],
]);

/** Rewrites a T-SQL function (or CURRENT_TIMESTAMP); false when the word is not one. */
function rewriteFunction(run: RewriteRun, index: number): boolean {
  const { edits } = run;
  const name = wordOf(edits.tokens[index]);
  const open = index + 1;
  if (name === "CURRENT_TIMESTAMP" && !isOpenParen(edits.tokens[open])) {
    edits.replace(index, now(true));
    return true;
  }
  if (!isOpenParen(edits.tokens[open]) || edits.match[open]! < 0) return false;
  const close = edits.match[open]!;
  const ranges = callArguments(edits, open);
  const replaceCall = (text: string): void => {
    edits.replace(index, text);
    edits.remove(open, close);
  };
  const local = clockFunctions.get(name);
  if (local !== undefined && ranges.length === 0) replaceCall(now(local));
  else if (name === "ISNULL") edits.replace(index, "ifnull");
  else if (name === "LEN") {
    // SQL Server's LEN ignores trailing spaces.
    edits.replace(index, "length(rtrim");
    edits.close(close, ")");
  } else if (name === "SCOPE_IDENTITY" && ranges.length === 0) replaceCall(literal(run.context.identity));
  else if (name === "DB_ID") replaceCall(databaseId(run, index, soleLiteral(edits, ranges), ranges.length));
  else if (name === "DB_NAME") {
    replaceCall(databaseName(run, index, soleLiteral(edits, ranges), ranges.length));
  }
  else if (name === "OBJECT_ID") replaceCall(objectId(edits, index, ranges));
  else if (name === "SERVERPROPERTY") replaceCall(serverProperty(run, index, soleLiteral(edits, ranges)));
  else return false;
  return true;
}

/** SERVERPROPERTY('name'): the instance's value, NULL for a property it does not have (as SQL Server). */
function serverProperty(run: RewriteRun, index: number, argument: Token | undefined): string {
  if (argument?.kind !== "string" && argument?.kind !== "nstring") {
    throw unsupported(callText(run.edits, index), run.edits.tokens[index]!.line);
  }
  const value = run.context.serverProperties?.get(argument.value.toUpperCase());
  return value === undefined ? "NULL" : literal(value);
}

/** DB_ID() and DB_ID('current database'); other databases have no id in this session. */
function databaseId(run: RewriteRun, index: number, argument: Token | undefined, count: number): string {
  const { context } = run;
  if (count === 0) return String(context.databaseId);
  const isString = argument?.kind === "string" || argument?.kind === "nstring";
  if (isString && argument!.value.toLowerCase() === context.databaseName.toLowerCase()) {
    return String(context.databaseId);
  }
  if (run.probe && isString) return "NULL";
  throw unsupported(callText(run.edits, index), run.edits.tokens[index]!.line);
}

/** DB_NAME() and DB_NAME(current id). */
function databaseName(run: RewriteRun, index: number, argument: Token | undefined, count: number): string {
  const { context } = run;
  if (count === 0) return quoteString(context.databaseName);
  const isNumber = argument?.kind === "number";
  if (isNumber && Number(argument!.text) === context.databaseId) return quoteString(context.databaseName);
  if (run.probe && isNumber) return "NULL";
  throw unsupported(callText(run.edits, index), run.edits.tokens[index]!.line);
}

function callText(edits: Edits, index: number): string {
  return edits.source(index, edits.match[index + 1]!);
}

// OBJECT_ID's type codes for the objects SQLite has; any other type finds nothing.
const objectTypes: ReadonlyMap<string, string> = new Map([
  ["U", "'table'"], ["V", "'view'"], ["TR", "'trigger'"],
]);

/**
 * OBJECT_ID('[schema.]name' [, 'type']) → the object's rowid in sqlite_schema, or NULL:
 * a number that is stable while the object exists, which is what callers test it for.
 */
function objectId(edits: Edits, index: number, ranges: Array<[number, number]>): string {
  const strings = ranges.map(([from, to]) => (from === to ? edits.tokens[from] : undefined));
  const [name, type] = strings;
  const isText = (token: Token | undefined): boolean => token?.kind === "string" || token?.kind === "nstring";
  if (ranges.length < 1 || ranges.length > 2 || !isText(name) || (ranges.length === 2 && !isText(type))) {
    throw unsupported("OBJECT_ID", edits.tokens[index]!.line);
  }
  const parts = name!.value.split(".").map((part) => part.replace(/^["[]|["\]]$/g, ""));
  const objectName = parts[parts.length - 1]!;
  const schema = parts.length >= 2 ? parts[parts.length - 2]!.toLowerCase() : "dbo";
  const types = type === undefined ? "'table', 'view', 'trigger'" : objectTypes.get(type.value.toUpperCase());
  if (types === undefined || (schema !== "dbo" && schema !== "") || objectName.startsWith("#")) return "NULL";
  const where = `type IN (${types}) AND name = ${quoteString(objectName)} COLLATE NOCASE`;
  return `(SELECT rowid FROM sqlite_schema WHERE ${where})`;
}

/**
 * T-SQL concatenates strings with +, SQLite with || (its + is numeric only). A + next to a
 * string literal makes its whole chain of + operands a concatenation: 'a' + b + c.
 */
function concatenate(edits: Edits, plus: number): void {
  const isText = (token: Token | undefined): boolean => token?.kind === "string" || token?.kind === "nstring";
  if (!isText(edits.tokens[plus - 1]) && !isText(edits.tokens[plus + 1])) return;
  edits.replace(plus, "||");
  for (let end = operandEnd(edits, plus + 1); isOp(edits.tokens[end + 1], "+");) {
    edits.replace(end + 1, "||");
    end = operandEnd(edits, end + 2);
  }
  for (let start = operandStart(edits, plus - 1); isOp(edits.tokens[start - 1], "+");) {
    edits.replace(start - 1, "||");
    start = operandStart(edits, start - 2);
  }
}

/** Last token of the operand starting at `at`: a literal, a dotted name, a call or ( … ). */
function operandEnd(edits: Edits, at: number): number {
  const token = edits.tokens[at];
  if (isOpenParen(token)) return Math.max(at, edits.match[at]!);
  const chain = readChain(edits.tokens, at);
  if (chain === null) return at;
  const afterChain = chain.end;
  if (isOpenParen(edits.tokens[afterChain])) return Math.max(afterChain, edits.match[afterChain]!);
  return afterChain - 1;
}

/** First token of the operand ending at `at`. */
function operandStart(edits: Edits, at: number): number {
  const token = edits.tokens[at];
  let start = at;
  if (isOp(token, ")") && edits.match[at]! >= 0) start = edits.match[at]!;
  const before = edits.tokens[start - 1];
  if (start !== at && before?.kind === "word") start -= 1;
  while (isOp(edits.tokens[start - 1], ".") && edits.tokens[start - 2] !== undefined) start -= 2;
  return Math.max(0, start);
}
