// The sqlcmd batch separator. GO is not T-SQL: clients split a script into batches on it and
// send each batch on its own, so the server never sees it. Pure.

/** One batch of a script: its text, the script line it starts on, and how often to run it. */
export interface ScriptBatch {
  text: string;
  /** 1-based script line of the batch's first line: batch line n is script line firstLine + n - 1. */
  firstLine: number;
  /** The count of `GO n` (1 for a bare GO or the end of the script). */
  repeat: number;
}

// A separator line: GO alone (any case), an optional count, an optional trailing comment.
const separatorPattern = /^\s*go(?:\s+(\d+))?\s*(?:--.*)?$/i;

/** Where a line leaves the lexer: inside a quoted token, a block comment, or neither. */
export interface LineState { quote: string | null; commentDepth: number }

/** A sqlcmd `$(name)` reference within a line: [start, end) and the name. */
export interface Reference { start: number; end: number; name: string }

const REFERENCE_CHAR = /[A-Za-z0-9_-]/;

/**
 * Splits a script on GO lines. A GO line inside a string, a quoted identifier or a block
 * comment that spans lines is text, not a separator. Batches holding only whitespace are
 * dropped; the text of the others is kept exactly (lines joined by the script's own line
 * breaks), so batch line numbers map back to script lines through `firstLine`.
 */
export function splitGo(script: string): ScriptBatch[] {
  const batches: ScriptBatch[] = [];
  const lines = script.split("\n");
  let state: LineState = { quote: null, commentDepth: 0 };
  let batchLines: string[] = [];
  let batchFirstLine = 1;
  lines.forEach((rawLine, index) => {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    const match = state.quote === null && state.commentDepth === 0 ? separatorPattern.exec(line) : null;
    if (match === null) {
      batchLines.push(rawLine);
      state = scanScriptLine(line, state, false)!.state;
      return;
    }
    pushBatch(batches, batchLines, batchFirstLine, match[1] === undefined ? 1 : Number(match[1]));
    batchLines = [];
    batchFirstLine = index + 2;
  });
  pushBatch(batches, batchLines, batchFirstLine, 1);
  return batches;
}

function pushBatch(batches: ScriptBatch[], lines: string[], firstLine: number, repeat: number): void {
  const text = lines.join("\n");
  if (text.trim() === "") return;
  batches.push({ text, firstLine, repeat });
}

/**
 * Follows quotes and comments across one line, as the lexer would; with `substitute` it also
 * finds sqlcmd's `$(name)` references outside comments (null when a `$(` is malformed).
 */
export function scanScriptLine(line: string, start: LineState, substitute: boolean):
  { state: LineState; references: Reference[] } | null {
  let { quote, commentDepth } = start;
  const references: Reference[] = [];
  let position = 0;
  while (position < line.length) {
    const pair = line.slice(position, position + 2);
    const char = line[position]!;
    if (commentDepth > 0) {
      if (pair === "/*") commentDepth += 1;
      if (pair === "*/") commentDepth -= 1;
      position += pair === "/*" || pair === "*/" ? 2 : 1;
    } else if (substitute && pair === "$(") {
      const end = referenceEnd(line, position + 2);
      if (end === null) return null;
      references.push({ start: position, end: end + 1, name: line.slice(position + 2, end) });
      position = end + 1;
    } else if (quote !== null) {
      // A doubled closing quote is an escaped quote and keeps the token open.
      if (char === quote && line[position + 1] === quote) position += 2;
      else {
        if (char === quote) quote = null;
        position += 1;
      }
    } else if (pair === "--") {
      break;
    } else if (pair === "/*") {
      commentDepth = 1;
      position += 2;
    } else {
      if (char === "'" || char === '"') quote = char;
      if (char === "[") quote = "]";
      position += 1;
    }
  }
  return { state: { quote, commentDepth }, references };
}

/** Index of the `)` closing a reference whose name starts at `from`, or null. */
function referenceEnd(line: string, from: number): number | null {
  let position = from;
  while (position < line.length && REFERENCE_CHAR.test(line[position]!)) position += 1;
  return position > from && line[position] === ")" ? position : null;
}
