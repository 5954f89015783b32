// A read position over the significant tokens of a batch (no whitespace, no comments), with
// the helpers the recursive-descent parser needs. Syntax errors name the token as SQL Server
// does: 156 for a reserved keyword, 102 for anything else.

import { significantTokens, type Token } from "./lexer.js";
import { syntaxError } from "./errors.js";
import { isReserved } from "./keywords.js";

export class Cursor {
  /** Every token of the batch, whitespace and comments included. */
  readonly all: readonly Token[];
  /** The significant tokens, in order. */
  readonly tokens: readonly Token[];
  /** allIndex[i] is the index in `all` of tokens[i]. */
  private readonly allIndex: readonly number[];
  position = 0;

  constructor(all: readonly Token[]) {
    this.all = all;
    ({ tokens: this.tokens, allIndex: this.allIndex } = significantTokens(all));
  }

  atEnd(): boolean {
    return this.position >= this.tokens.length;
  }

  peek(offset = 0): Token | undefined {
    return this.tokens[this.position + offset];
  }

  /** The last token consumed (the statement's last token once it is parsed). */
  previous(): Token | undefined {
    return this.tokens[this.position - 1];
  }

  /** Consumes and returns the next token; at the end of the batch, a syntax error. */
  next(): Token {
    const token = this.tokens[this.position];
    if (token === undefined) throw this.unexpected();
    this.position += 1;
    return token;
  }

  /** Does the token at `offset` read as the word `word` (any case)? */
  isWord(word: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token !== undefined && token.kind === "word" && token.text.toUpperCase() === word;
  }

  isOp(op: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token !== undefined && token.kind === "op" && token.text === op;
  }

  /** Consumes the next token if it is one of `words` and returns it upper-cased. */
  acceptWord(...words: string[]): string | null {
    const token = this.peek();
    if (token?.kind !== "word") return null;
    const upper = token.text.toUpperCase();
    if (!words.includes(upper)) return null;
    this.position += 1;
    return upper;
  }

  acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.position += 1;
    return true;
  }

  expectWord(...words: string[]): string {
    const word = this.acceptWord(...words);
    if (word === null) throw this.unexpected();
    return word;
  }

  expectOp(op: string): void {
    if (!this.acceptOp(op)) throw this.unexpected();
  }

  /** An identifier: a word that is not reserved, or a quoted identifier; its unquoted name. */
  expectName(): string {
    const token = this.peek();
    if (token === undefined || !isName(token)) throw this.unexpected();
    this.position += 1;
    return token.value;
  }

  /**
   * The syntax error for the next token (or, at the end of the batch, for the last one, as
   * SQL Server reports "Incorrect syntax near 'x'" for a statement cut short after x).
   */
  unexpected(): Error {
    const token = this.peek() ?? this.tokens[this.tokens.length - 1];
    if (token === undefined) return syntaxError("SYNTAX_ERROR", [""], 1);
    return tokenError(token);
  }

  /** All tokens (trivia included) from significant token `from` to `to` (exclusive). */
  slice(from: number, to: number): Token[] {
    if (to <= from) return [];
    return this.all.slice(this.allIndex[from]!, this.allIndex[to - 1]! + 1);
  }

  /** Line and source text of the statement from significant token `start` to the cursor. */
  span(start: number): { line: number; text: string } {
    return { line: this.tokens[start]!.line, text: this.text(start, this.position) };
  }

  /** Source text from significant token `from` to `to` (exclusive). */
  text(from: number, to: number): string {
    return this.slice(from, to).map((token) => token.text).join("");
  }
}

/** Can `token` be an identifier (table, database, savepoint name)? */
export function isName(token: Token): boolean {
  if (token.kind === "quoted") return true;
  return token.kind === "word" && !isReserved(token.text);
}

/** 156 "near the keyword" for reserved words, 102 for every other token. */
export function tokenError(token: Token): Error {
  if (token.kind === "word" && isReserved(token.text)) {
    return syntaxError("SYNTAX_ERROR_KEYWORD", [token.text], token.line);
  }
  return syntaxError("SYNTAX_ERROR", [token.text], token.line);
}
