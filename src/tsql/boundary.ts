// Where a data or admin statement ends. T-SQL needs no ';' between statements, so a batch
// like "INSERT … SELECT …\nSELECT …\nSET NOCOUNT ON" is split at the statement words that
// cannot continue the statement before them. The rules follow the grammar only as far as
// that decision needs: the statement's own clauses (INSERT … SELECT, UPDATE … SET, WITH …
// SELECT, ALTER TABLE … DROP), continuation words (UNION SELECT, ON DELETE SET NULL,
// AS SELECT), trigger headers and trigger bodies (BEGIN … END, which may hold ';').

import type { Token } from "./lexer.js";
import { continuationWords, statementWords } from "./keywords.js";

/** What the statement scanned so far still expects. */
interface ScanState {
  depth: number;
  /** INSERT whose source (SELECT, VALUES, DEFAULT VALUES) has not been seen. */
  insertSource: boolean;
  /** UPDATE whose SET has not been seen. */
  updateSet: boolean;
  /** WITH common table expressions whose main statement has not been seen. */
  cteMain: boolean;
  /** ALTER TABLE whose action (ADD, DROP, ALTER, RENAME) has not been seen. */
  alterAction: boolean;
  /** CREATE TRIGGER before its body: INSERT/UPDATE/DELETE name events, BEGIN opens the body. */
  triggerHeader: boolean;
  /** Nesting of BEGIN/CASE … END inside a trigger body; > 0 while inside it. */
  bodyDepth: number;
  /** EXPLAIN [QUERY PLAN] before the statement it explains. */
  explain: boolean;
  /** GRANT/REVOKE/DENY before ON/TO: permission names such as SELECT or CREATE TABLE. */
  permissions: boolean;
}

/**
 * Returns the index one past the last token of the statement that starts at `start`
 * (`tokens` are significant tokens only). The statement ends before a top-level ';' (not
 * included), before a statement word that cannot continue it, or at the end of the batch.
 */
export function statementEnd(tokens: readonly Token[], start: number): number {
  const state = initialState(tokens, start);
  for (let index = start + 1; index < tokens.length; index += 1) {
    const token = tokens[index]!;
    if (token.kind === "op") {
      if (token.text === "(") state.depth += 1;
      // An unmatched ")" cannot belong to the statement: the parser reports it.
      if (token.text === ")" && state.depth === 0) return index;
      if (token.text === ")") state.depth -= 1;
      if (token.text === ";" && state.depth === 0 && state.bodyDepth === 0) return index;
      continue;
    }
    if (token.kind !== "word" || state.depth > 0) continue;
    const word = token.text.toUpperCase();
    if (state.bodyDepth > 0) {
      trackBody(state, word);
      continue;
    }
    trackClause(state, tokens, index, word);
    if (!statementWords.has(word)) continue;
    if (!continues(state, tokens, index, word)) return index;
    advance(state, word);
  }
  return tokens.length;
}

function initialState(tokens: readonly Token[], start: number): ScanState {
  const first = upper(tokens[start]);
  const second = upper(tokens[start + 1]);
  const third = upper(tokens[start + 2]);
  return {
    depth: 0,
    insertSource: first === "INSERT",
    updateSet: first === "UPDATE",
    cteMain: first === "WITH",
    // ALTER TABLE … DROP COLUMN, ALTER SERVER ROLE / ALTER ROLE … DROP MEMBER, ALTER LOGIN …
    // DROP CREDENTIAL: the DROP belongs to the ALTER.
    alterAction: first === "ALTER" && (second === "TABLE" || second === "LOGIN" || second === "ROLE"
      || (second === "SERVER" && third === "ROLE")),
    triggerHeader: first === "CREATE" && (second === "TRIGGER" || third === "TRIGGER"),
    bodyDepth: 0,
    explain: first === "EXPLAIN",
    permissions: first === "GRANT" || first === "REVOKE" || first === "DENY",
  };
}

/** Inside a trigger body everything continues; only the matching END closes it. */
function trackBody(state: ScanState, word: string): void {
  if (word === "BEGIN" || word === "CASE") state.bodyDepth += 1;
  if (word === "END") state.bodyDepth -= 1;
}

/** Clause words that are not statement words but change what may follow. */
function trackClause(state: ScanState, tokens: readonly Token[], index: number, word: string): void {
  // SELECT also ends the INSERT source, but only once continues() has let it in (advance).
  if (word === "VALUES") state.insertSource = false;
  if (word === "ADD" || word === "RENAME") state.alterAction = false;
  if (word === "ON" || word === "TO" || word === "FROM") state.permissions = false;
  if (word === "WITH" && startsCommonTableExpression(tokens, index)) state.cteMain = true;
}

/** WITH [RECURSIVE] name AS ( … or WITH name (columns) AS …, not a table hint WITH (NOLOCK). */
function startsCommonTableExpression(tokens: readonly Token[], withIndex: number): boolean {
  let index = withIndex + 1;
  if (upper(tokens[index]) === "RECURSIVE") index += 1;
  const name = tokens[index];
  if (name === undefined || (name.kind !== "word" && name.kind !== "quoted")) return false;
  const after = tokens[index + 1];
  return upper(after) === "AS" || (after?.kind === "op" && after.text === "(");
}

/** May statement word `word` at `index` continue the statement instead of starting one? */
function continues(state: ScanState, tokens: readonly Token[], index: number, word: string): boolean {
  const previous = tokens[index - 1]!;
  // No statement ends with an operator or a comma (")" can end one).
  if (previous.kind === "op" && previous.text !== ")") return true;
  const before = upper(previous);
  if (continuationWords.has(before) || state.permissions) return true;
  switch (word) {
    case "SELECT":
      return state.insertSource || state.cteMain || state.explain;
    case "INSERT":
    case "DELETE":
      return state.cteMain || state.triggerHeader || state.explain;
    case "UPDATE":
      return state.cteMain || state.triggerHeader || state.explain || before === "DO";
    case "SET":
      return state.updateSet;
    case "BEGIN":
      return state.triggerHeader;
    case "DROP":
    case "ALTER":
      return state.alterAction;
    case "IF":
      // DROP USER IF EXISTS …, DROP CERTIFICATE IF EXISTS …: the object word is not reserved.
      return upper(tokens[index - 2]) === "DROP";
    case "FETCH":
      // OFFSET n ROWS FETCH NEXT m ROWS ONLY, not a cursor FETCH.
      return before === "ROW" || before === "ROWS";
    case "ROLLBACK":
      // ON CONFLICT ROLLBACK (a SQLite conflict clause); INSERT OR ROLLBACK is covered by OR.
      return before === "CONFLICT";
    default:
      return false;
  }
}

/** Updates the state after `word` continued the statement. */
function advance(state: ScanState, word: string): void {
  state.explain = false;
  switch (word) {
    case "SELECT":
      state.insertSource = false;
      state.cteMain = false;
      break;
    case "INSERT":
      if (state.cteMain) state.insertSource = true;
      state.cteMain = false;
      break;
    case "UPDATE":
      if (state.cteMain) state.updateSet = true;
      state.cteMain = false;
      break;
    case "DELETE":
      state.cteMain = false;
      break;
    case "SET":
      state.updateSet = false;
      break;
    case "BEGIN":
      state.triggerHeader = false;
      state.bodyDepth = 1;
      break;
    case "DROP":
    case "ALTER":
      state.alterAction = false;
      break;
    default:
      break;
  }
}

function upper(token: Token | undefined): string {
  return token?.kind === "word" ? token.text.toUpperCase() : "";
}
