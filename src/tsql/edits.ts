// An overlay of edits on a statement's tokens. Rewrite rules address significant tokens by
// index and never shift them: a rule replaces, removes or inserts around a token, and the
// text is rendered once at the end, whitespace and comments kept where they were.

import { significantTokens, type Token } from "./lexer.js";

export class Edits {
  /** Significant tokens of the statement (no whitespace, no comments). */
  readonly tokens: readonly Token[];
  /** For "(" and ")", the index of the matching paren; -1 otherwise or when unmatched. */
  readonly match: readonly number[];
  /** Paren depth of each token; a paren has the depth outside it. */
  readonly depth: readonly number[];
  private readonly all: readonly Token[];
  private readonly allIndex: readonly number[];
  private readonly replaced = new Map<number, string>();
  private readonly removed = new Set<number>();
  private readonly prefixes = new Map<number, string>();
  private readonly suffixes = new Map<number, string>();
  private readonly closers = new Map<number, string>();

  constructor(all: readonly Token[]) {
    this.all = all;
    const { tokens, allIndex } = significantTokens(all);
    this.tokens = tokens;
    this.allIndex = allIndex;
    const { match, depth } = matchParens(tokens);
    this.match = match;
    this.depth = depth;
  }

  /**
   * Replaces token `index` with `text`. The first replacement wins and a removed token stays
   * removed, so specific rules run before generic ones (identifier quoting runs last).
   */
  replace(index: number, text: string): void {
    if (this.replaced.has(index) || this.removed.has(index)) return;
    this.replaced.set(index, text);
  }

  /** Removes tokens from..to inclusive. */
  remove(from: number, to = from): void {
    for (let index = from; index <= to; index += 1) this.removed.add(index);
  }

  /** Inserts `text` before token `index`; at tokens.length, after the last token. */
  before(index: number, text: string): void {
    if (index >= this.tokens.length) {
      this.after(this.tokens.length - 1, text);
      return;
    }
    this.prefixes.set(index, (this.prefixes.get(index) ?? "") + text);
  }

  after(index: number, text: string): void {
    this.suffixes.set(index, (this.suffixes.get(index) ?? "") + text);
  }

  /**
   * Inserts `text` right after token `index`, before anything after() adds there: for the
   * ")" that closes a call a rule opened (LEN(x) → length(rtrim(x))), which must come
   * before a column alias added to the same token.
   */
  close(index: number, text: string): void {
    this.closers.set(index, (this.closers.get(index) ?? "") + text);
  }

  /**
   * Inserts a clause ("LIMIT 5") before token `index` (at tokens.length: at the end), with
   * one space between it and its neighbours, whatever whitespace the source had there.
   */
  insertClause(index: number, clause: string): void {
    if (index >= this.tokens.length) {
      this.after(this.tokens.length - 1, ` ${clause}`);
      return;
    }
    const spaced = this.all[this.allIndex[index]! - 1]?.kind === "space";
    const closing = isOp(this.tokens[index], ")") || isOp(this.tokens[index], ";");
    this.before(index, `${spaced ? "" : " "}${clause}${closing ? "" : " "}`);
  }

  /** The source text of tokens from..to inclusive, trivia included, edits ignored. */
  source(from: number, to: number): string {
    const first = this.allIndex[from]!;
    const last = this.allIndex[to]!;
    return this.all.slice(first, last + 1).map((token) => token.text).join("");
  }

  /**
   * The edited text. Whitespace next to a removed token is dropped where it would double a
   * blank, follow "(" or precede ")" / "," / the end, so removals leave tidy text.
   */
  render(): string {
    const pieces = this.pieces();
    let text = "";
    pieces.forEach((piece, index) => {
      if (piece.kind === "removed") return;
      let part = piece.text;
      if (piece.kind === "space" && nearRemoval(pieces, index)) {
        const next = nextText(pieces, index);
        if (text === "" || /[\s(]$/.test(text) || next === "" || /^[),]/.test(next)) return;
      }
      if (piece.kind === "inserted" && /\s$/.test(text)) part = part.trimStart();
      text += part;
    });
    return text.trimEnd();
  }

  private pieces(): Piece[] {
    const pieces: Piece[] = [];
    let significant = 0;
    for (const token of this.all) {
      if (token.kind === "space" || token.kind === "comment") {
        pieces.push({ kind: token.kind === "space" ? "space" : "text", text: token.text });
        continue;
      }
      const index = significant;
      significant += 1;
      const prefix = this.prefixes.get(index);
      if (prefix !== undefined) pieces.push({ kind: "inserted", text: prefix });
      if (this.removed.has(index)) pieces.push({ kind: "removed", text: "" });
      else pieces.push({ kind: "text", text: this.replaced.get(index) ?? token.text });
      const suffix = (this.closers.get(index) ?? "") + (this.suffixes.get(index) ?? "");
      if (suffix !== "") pieces.push({ kind: "inserted", text: suffix });
    }
    return pieces;
  }
}

interface Piece { kind: "space" | "text" | "inserted" | "removed"; text: string }

/** Is the whitespace piece at `index` next to a removed token (across other whitespace)? */
function nearRemoval(pieces: readonly Piece[], index: number): boolean {
  for (const step of [-1, 1]) {
    let at = index + step;
    while (pieces[at]?.kind === "space") at += step;
    if (pieces[at]?.kind === "removed") return true;
  }
  return false;
}

/** The text of the next piece that renders anything ("" at the end). */
function nextText(pieces: readonly Piece[], index: number): string {
  for (let at = index + 1; at < pieces.length; at += 1) {
    const piece = pieces[at]!;
    if (piece.kind !== "removed" && piece.kind !== "space") return piece.text.trimStart();
  }
  return "";
}

function matchParens(tokens: readonly Token[]): { match: number[]; depth: number[] } {
  const match = tokens.map(() => -1);
  const depth = tokens.map(() => 0);
  const open: number[] = [];
  tokens.forEach((token, index) => {
    depth[index] = open.length;
    if (token.kind !== "op") return;
    if (token.text === "(") {
      open.push(index);
    } else if (token.text === ")" && open.length > 0) {
      const start = open.pop()!;
      match[start] = index;
      match[index] = start;
      depth[index] = open.length;
    }
  });
  return { match, depth };
}

/** Is the token the word `word` (upper case), in any case? */
export function isWord(token: Token | undefined, word: string): boolean {
  // The length test first: rules ask this of every token, and most differ in length.
  return token?.kind === "word" && token.text.length === word.length && token.text.toUpperCase() === word;
}

export function isOp(token: Token | undefined, op: string): boolean {
  return token?.kind === "op" && token.text === op;
}

/** Upper-cased text of a word token, "" for anything else. */
export function wordOf(token: Token | undefined): string {
  return token?.kind === "word" ? token.text.toUpperCase() : "";
}
