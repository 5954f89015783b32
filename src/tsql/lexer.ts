// The T-SQL lexer: one pass over a batch, producing every token including whitespace and
// comments, so that a data statement's text can be rebuilt exactly from its tokens. Pure.

import { syntaxError } from "./errors.js";

export type TokenKind =
  | "word" | "quoted" | "string" | "nstring" | "number" | "binary"
  | "variable" | "sysvar" | "op" | "comment" | "space";

/**
 * One lexical token. `text` is the exact source slice [start, end); `value` is its meaning:
 * the unquoted name of a quoted identifier, the unescaped contents of a string, the text
 * otherwise. `line` is the 1-based batch line where the token starts.
 */
export interface Token {
  kind: TokenKind;
  text: string;
  value: string;
  start: number;
  end: number;
  line: number;
}

// Longest first: the lexer tries each in order at the current position.
const operators = [
  "->>", "<>", "!=", "<=", ">=", "!<", "!>", "||", "::", "<<", ">>", "->", "==",
] as const;

/**
 * Splits a batch into tokens, whitespace and comments included. Throws SqlError 105 for an
 * unterminated string or quoted identifier and 113 for an unterminated block comment, with
 * the line where it starts. Any other character becomes a one-character "op" token; the
 * parser decides whether it is valid.
 */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  let line = 1;
  while (position < sql.length) {
    const end = scanToken(sql, position, line);
    const kind = end.kind;
    const text = sql.slice(position, end.end);
    tokens.push({ kind, text, value: end.value ?? text, start: position, end: end.end, line });
    line += countNewlines(text);
    position = end.end;
  }
  return tokens;
}

interface Scan { kind: TokenKind; end: number; value?: string }

function scanToken(sql: string, at: number, line: number): Scan {
  const char = sql[at]!;
  const next = sql[at + 1] ?? "";
  if (isSpace(char)) return { kind: "space", end: scanWhile(sql, at, isSpace) };
  if (char === "-" && next === "-") return { kind: "comment", end: lineEnd(sql, at) };
  if (char === "/" && next === "*") return { kind: "comment", end: blockCommentEnd(sql, at, line) };
  if (char === "'") return scanQuoted(sql, at, "'", "string", line);
  if ((char === "N" || char === "n") && next === "'") return scanQuoted(sql, at + 1, "'", "nstring", line);
  if (char === "[") return scanQuoted(sql, at, "]", "quoted", line);
  if (char === '"') return scanQuoted(sql, at, '"', "quoted", line);
  if (char === "0" && (next === "x" || next === "X")) {
    return { kind: "binary", end: scanWhile(sql, at + 2, isHexDigit) };
  }
  if (isDigit(char) || (char === "." && isDigit(next))) return { kind: "number", end: numberEnd(sql, at) };
  if (char === "@") {
    const kind = next === "@" ? "sysvar" : "variable";
    const nameStart = at + (kind === "sysvar" ? 2 : 1);
    return { kind, end: scanWhile(sql, nameStart, isWordPart) };
  }
  if (isWordStart(char)) return { kind: "word", end: scanWhile(sql, at + 1, isWordPart) };
  const operator = operators.find((candidate) => sql.startsWith(candidate, at));
  return { kind: "op", end: at + (operator?.length ?? 1) };
}

/**
 * A quoted token whose body starts after the opening quote at `quoteAt` and runs to the first
 * unpaired `close`; a doubled `close` stands for one character.
 */
function scanQuoted(sql: string, quoteAt: number, close: string, kind: TokenKind, line: number): Scan {
  let value = "";
  let position = quoteAt + 1;
  for (;;) {
    const closeAt = sql.indexOf(close, position);
    // SQL Server names what follows the opening quote, as far as the batch goes.
    if (closeAt < 0) throw syntaxError("UNCLOSED_QUOTATION", [sql.slice(quoteAt + 1)], line);
    value += sql.slice(position, closeAt);
    if (sql[closeAt + 1] !== close) return { kind, end: closeAt + 1, value };
    value += close;
    position = closeAt + 2;
  }
}

/** T-SQL block comments nest: each "/*" needs its own "*\/". */
function blockCommentEnd(sql: string, at: number, line: number): number {
  let depth = 0;
  let position = at;
  while (position < sql.length) {
    if (sql.startsWith("/*", position)) {
      depth += 1;
      position += 2;
    } else if (sql.startsWith("*/", position)) {
      depth -= 1;
      position += 2;
      if (depth === 0) return position;
    } else {
      position += 1;
    }
  }
  throw syntaxError("MISSING_END_COMMENT", [], line);
}

/** Integer, decimal (1.5, 1., .5) and float (1e5, 2.5E-3) literals. */
function numberEnd(sql: string, at: number): number {
  let position = scanWhile(sql, at, isDigit);
  if (sql[position] === ".") position = scanWhile(sql, position + 1, isDigit);
  const exponent = sql[position];
  if (exponent === "e" || exponent === "E") {
    let digitsAt = position + 1;
    if (sql[digitsAt] === "+" || sql[digitsAt] === "-") digitsAt += 1;
    if (isDigit(sql[digitsAt] ?? "")) position = scanWhile(sql, digitsAt, isDigit);
  }
  return position;
}

function lineEnd(sql: string, at: number): number {
  const newline = sql.indexOf("\n", at);
  return newline === -1 ? sql.length : newline;
}

function scanWhile(sql: string, at: number, accept: (char: string) => boolean): number {
  let position = at;
  while (position < sql.length && accept(sql[position]!)) position += 1;
  return position;
}

function countNewlines(text: string): number {
  let count = 0;
  for (const char of text) if (char === "\n") count += 1;
  return count;
}

function isSpace(char: string): boolean {
  return char === " " || char === "\t" || char === "\n" || char === "\r" || char === "\f"
    || char === "\v" || char === "\u00a0" || char === "\ufeff";
}

function isDigit(char: string): boolean {
  return char >= "0" && char <= "9";
}

function isHexDigit(char: string): boolean {
  return isDigit(char) || (char >= "a" && char <= "f") || (char >= "A" && char <= "F");
}

/** T-SQL regular identifiers start with a letter, _ or # (temporary objects). */
function isWordStart(char: string): boolean {
  if ((char >= "a" && char <= "z") || (char >= "A" && char <= "Z") || char === "_" || char === "#") return true;
  return char > "\u007f" && /\p{L}/u.test(char);
}

function isWordPart(char: string): boolean {
  return isWordStart(char) || isDigit(char) || char === "@" || char === "$";
}

/** The tokens a parser looks at (no whitespace, no comments) and each one's index in `all`. */
export function significantTokens(all: readonly Token[]): { tokens: Token[]; allIndex: number[] } {
  const tokens: Token[] = [];
  const allIndex: number[] = [];
  all.forEach((token, index) => {
    if (token.kind === "space" || token.kind === "comment") return;
    tokens.push(token);
    allIndex.push(index);
  });
  return { tokens, allIndex };
}
