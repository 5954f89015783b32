// SET statements: session options the server keeps per session. Every client sends a burst
// of them after login (tedious: "set ansi_nulls on\nset ansi_null_dflt_on on\n…"), one per
// line without ';', so each SET ends exactly where its grammar ends.

import type { Token } from "./lexer.js";
import type { Cursor } from "./cursor.js";
import { tokenError } from "./cursor.js";
import { syntaxError, unsupported } from "./errors.js";
import { readChain } from "./names.js";
import type {
  IsolationLevel, SetLockTimeout, SetOption, SetTransactionIsolationLevel,
} from "./statements.js";

/** Options set with ON or OFF; several may share one value: SET ANSI_NULLS, ANSI_PADDING ON. */
const switchOptions: ReadonlySet<string> = new Set(`
  ANSI_DEFAULTS ANSI_NULL_DFLT_OFF ANSI_NULL_DFLT_ON ANSI_NULLS ANSI_PADDING ANSI_WARNINGS
  ARITHABORT ARITHIGNORE CONCAT_NULL_YIELDS_NULL CURSOR_CLOSE_ON_COMMIT FMTONLY FORCEPLAN
  IMPLICIT_TRANSACTIONS NOCOUNT NOEXEC NO_BROWSETABLE NUMERIC_ROUNDABORT PARSEONLY
  QUOTED_IDENTIFIER REMOTE_PROC_TRANSACTIONS SHOWPLAN_ALL SHOWPLAN_TEXT SHOWPLAN_XML XACT_ABORT
`.split(/\s+/).filter((word) => word !== ""));

type ValueKind = "integer" | "deadlockPriority" | "dateFormat" | "language" | "binary";

/** Options that take one value of their own kind. */
const valueOptions: ReadonlyMap<string, ValueKind> = new Map([
  ["TEXTSIZE", "integer"], ["ROWCOUNT", "integer"], ["DATEFIRST", "integer"],
  ["QUERY_GOVERNOR_COST_LIMIT", "integer"], ["DEADLOCK_PRIORITY", "deadlockPriority"],
  ["DATEFORMAT", "dateFormat"], ["LANGUAGE", "language"], ["CONTEXT_INFO", "binary"],
]);

const statisticsOptions = ["IO", "PROFILE", "TIME", "XML"];

const isolationLevels: ReadonlyMap<string, IsolationLevel> = new Map([
  ["READ UNCOMMITTED", "READ UNCOMMITTED"], ["READ COMMITTED", "READ COMMITTED"],
  ["REPEATABLE READ", "REPEATABLE READ"], ["SNAPSHOT", "SNAPSHOT"], ["SERIALIZABLE", "SERIALIZABLE"],
]);

type SetStatement = SetOption | SetLockTimeout | SetTransactionIsolationLevel;

/**
 * SET …, with the cursor on SET. An unknown option is 195 "'x' is not a recognized SET
 * option."; SET @variable is 40517 (variables are not supported).
 */
export function parseSet(cursor: Cursor, start: number): SetStatement {
  cursor.expectWord("SET");
  const token = cursor.peek();
  if (token?.kind === "variable") throw unsupported(token.text, token.line);
  if (token?.kind !== "word") throw cursor.unexpected();
  const option = token.text.toUpperCase();
  if (option === "TRANSACTION") return parseIsolationLevel(cursor, start);
  if (option === "LOCK_TIMEOUT") {
    cursor.next();
    const ms = Number(signedInteger(cursor));
    return { kind: "setLockTimeout", ms, ...cursor.span(start) };
  }
  if (option === "STATISTICS") return parseStatistics(cursor, start);
  if (option === "IDENTITY_INSERT") return parseIdentityInsert(cursor, start);
  if (switchOptions.has(option)) return parseSwitches(cursor, start);
  const kind = valueOptions.get(option);
  if (kind === undefined) throw unrecognized(token);
  cursor.next();
  const value = parseValue(cursor, kind);
  return { kind: "setOption", option, options: [option], value, target: null, ...cursor.span(start) };
}

function unrecognized(token: Token): Error {
  return syntaxError("UNRECOGNIZED_OPTION", [token.text, "SET option"], token.line);
}

function parseIsolationLevel(cursor: Cursor, start: number): SetTransactionIsolationLevel {
  cursor.expectWord("TRANSACTION");
  cursor.expectWord("ISOLATION");
  cursor.expectWord("LEVEL");
  const first = cursor.expectWord("READ", "REPEATABLE", "SNAPSHOT", "SERIALIZABLE");
  let words = first;
  if (first === "READ") words += ` ${cursor.expectWord("UNCOMMITTED", "COMMITTED")}`;
  if (first === "REPEATABLE") words += ` ${cursor.expectWord("READ")}`;
  const level = isolationLevels.get(words)!;
  return { kind: "setTransactionIsolationLevel", level, ...cursor.span(start) };
}

/** SET opt [, opt …] {ON | OFF}: every option in the list must be an ON/OFF option. */
function parseSwitches(cursor: Cursor, start: number): SetOption {
  const options: string[] = [];
  do {
    const token = cursor.next();
    const option = token.kind === "word" ? token.text.toUpperCase() : "";
    if (!switchOptions.has(option)) throw token.kind === "word" ? unrecognized(token) : tokenError(token);
    options.push(option);
  } while (cursor.acceptOp(","));
  const value = cursor.expectWord("ON", "OFF");
  return { kind: "setOption", option: options[0]!, options, value, target: null, ...cursor.span(start) };
}

/** SET STATISTICS IO [, TIME …] {ON | OFF}: options named "STATISTICS IO" and so on. */
function parseStatistics(cursor: Cursor, start: number): SetOption {
  cursor.expectWord("STATISTICS");
  const options: string[] = [];
  do options.push(`STATISTICS ${cursor.expectWord(...statisticsOptions)}`);
  while (cursor.acceptOp(","));
  const value = cursor.expectWord("ON", "OFF");
  return { kind: "setOption", option: options[0]!, options, value, target: null, ...cursor.span(start) };
}

/** SET IDENTITY_INSERT [db.][schema.]table {ON | OFF}: the target is the table's name. */
function parseIdentityInsert(cursor: Cursor, start: number): SetOption {
  cursor.expectWord("IDENTITY_INSERT");
  const chain = readChain(cursor.tokens, cursor.position);
  if (chain === null) throw cursor.unexpected();
  cursor.position = chain.end;
  const value = cursor.expectWord("ON", "OFF");
  const option = "IDENTITY_INSERT";
  const target = chain.parts[chain.parts.length - 1]!;
  return { kind: "setOption", option, options: [option], value, target, ...cursor.span(start) };
}

function parseValue(cursor: Cursor, kind: ValueKind): string {
  const token = cursor.peek();
  if (token?.kind === "variable") throw unsupported(token.text, token.line);
  switch (kind) {
    case "integer":
      return signedInteger(cursor);
    case "deadlockPriority": {
      const word = cursor.acceptWord("LOW", "NORMAL", "HIGH");
      return word ?? signedInteger(cursor);
    }
    case "dateFormat":
    case "language": {
      const value = cursor.next();
      if (value.kind === "string" || value.kind === "nstring" || value.kind === "quoted") return value.value;
      if (value.kind !== "word") throw tokenError(value);
      return kind === "dateFormat" ? value.text.toUpperCase() : value.text;
    }
    case "binary": {
      const value = cursor.next();
      if (value.kind !== "binary") throw tokenError(value);
      return value.text;
    }
  }
}

/** An integer with an optional sign, as written ("-1", "2147483647"). */
function signedInteger(cursor: Cursor): string {
  const sign = cursor.acceptOp("-") ? "-" : "";
  const token = cursor.peek();
  if (token?.kind === "variable") throw unsupported(token.text, token.line);
  if (token?.kind !== "number" || !/^\d+$/.test(token.text)) throw cursor.unexpected();
  cursor.next();
  return sign + token.text;
}
