// Multi-part names (db.schema.object.column) and the catalog objects they may denote. Shared
// by the parser (which lists the catalog views a statement reads) and the rewriter (which
// renames them to the tables the server fills in its scratch catalog database).

import type { Token } from "./lexer.js";

/** A dotted name as written: parts[i] is unquoted ("" for the empty schema of db..t). */
export interface NameChain {
  parts: string[];
  /** Significant-token index of each part's token; -1 for an empty part. */
  indexes: number[];
  /** Index one past the chain's last token. */
  end: number;
}

/**
 * Reads the dotted name starting at `at`, or returns null when `at` is not the start of one
 * (not a word or quoted identifier, or the middle of a chain). `t.*` ends before the ".".
 */
export function readChain(tokens: readonly Token[], at: number): NameChain | null {
  const first = tokens[at];
  if (first === undefined || !isNamePart(first) || isDot(tokens[at - 1])) return null;
  const parts = [first.value];
  const indexes = [at];
  let index = at;
  while (isDot(tokens[index + 1])) {
    const after = tokens[index + 2];
    if (after !== undefined && isNamePart(after)) {
      parts.push(after.value);
      indexes.push(index + 2);
      index += 2;
    } else if (isDot(after)) {
      parts.push("");
      indexes.push(-1);
      index += 1;
    } else {
      break;
    }
  }
  return { parts, indexes, end: index + 1 };
}

/** A catalog object a name refers to, and how many leading parts of the name denote it. */
export interface CatalogObject {
  /** The entry for DataStatement.catalogViews: "databases", "msdb.dbo.backupset". */
  view: string;
  /** The table the server creates for it in its scratch catalog database. */
  table: string;
  /** How many leading parts of the chain name the object (the rest is a column). */
  partsUsed: number;
}

/**
 * sys.x, db.sys.x (any database: catalog views are per instance here) and msdb.dbo.x /
 * msdb..x (backup history) are catalog objects; every other name is the user's. A chain
 * followed by "(" is a function call (sys.fn_…), not a view: callers check that.
 */
export function catalogObject(parts: readonly string[]): CatalogObject | null {
  const lower = parts.map((part) => part.toLowerCase());
  if (lower.length >= 2 && lower[0] === "sys") {
    return { view: lower[1]!, table: `sys.${lower[1]!}`, partsUsed: 2 };
  }
  if (lower.length >= 3 && lower[1] === "sys") {
    return { view: lower[2]!, table: `sys.${lower[2]!}`, partsUsed: 3 };
  }
  if (lower.length >= 3 && lower[0] === "msdb" && (lower[1] === "dbo" || lower[1] === "")) {
    const name = `msdb.dbo.${lower[2]!}`;
    return { view: name, table: name, partsUsed: 3 };
  }
  return null;
}

/** The catalog views a statement's significant tokens reference, each once, in order. */
export function findCatalogViews(tokens: readonly Token[]): string[] {
  const views: string[] = [];
  tokens.forEach((_, index) => {
    const chain = readChain(tokens, index);
    if (chain === null || isOpenParen(tokens[chain.end])) return;
    const object = catalogObject(chain.parts);
    if (object !== null && !views.includes(object.view)) views.push(object.view);
  });
  return views;
}

/** A name as SQLite reads it: double-quoted, inner quotes doubled. */
export function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal as SQLite reads it: single-quoted, inner quotes doubled. */
export function quoteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function isNamePart(token: Token): boolean {
  return token.kind === "word" || token.kind === "quoted";
}

export function isDot(token: Token | undefined): boolean {
  return token?.kind === "op" && token.text === ".";
}

export function isOpenParen(token: Token | undefined): boolean {
  return token?.kind === "op" && token.text === "(";
}
