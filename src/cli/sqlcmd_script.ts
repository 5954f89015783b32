// sqlcmd script processing for `mirrorlite sql`: scripting variables (`$(name)`, `-v`, `:setvar`,
// the environment), `:r` includes, GO batch separation (splitGo owns GO's grammar) and the
// execution-control commands (`[:]EXIT[(query)]`, `[:]QUIT`, `:ON ERROR`, `[:]RESET`). Pure: the
// host reads included files and supplies the environment; the runner executes the steps.
//
// Rules followed (sqlcmd documentation, and go-sqlcmd where the documentation is silent):
// - commands are recognised only at the start of a line that does not begin inside a string,
//   a quoted identifier or a block comment; names are case-insensitive;
// - `$(name)` is replaced in code and inside strings, never inside comments; a `$(` that is not
//   a well-formed reference is a syntax error; names are case-insensitive;
// - variables are resolved when the batch is sent (at GO), so a `:setvar` before the GO counts;
// - an undefined variable prints "'name' scripting variable not defined." and the batch runs
//   with the reference left as text, unless -b stops the run (the runner decides);
// - `:r file` is read relative to the directory sqlcmd started in (not the including file), its
//   lines continue the current batch, and it may hold any command, GO included;
// - the end of an input file (or of -Q) sends the pending batch without a GO.
import { scanScriptLine as scanLine, splitGo, type LineState, type Reference } from "../tsql/go.js";

/** The I/O a script needs; the runner supplies files from disk and process.env. */
export interface ScriptHost {
  /** Text of an included file; throws an Error whose message is the reason shown to the user. */
  readFile(path: string): string;
  /** The environment: the lowest-precedence scripting variables. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Variables that :setvar and -v may not change (sqlcmd's "R" variables). */
export const READ_ONLY_VARIABLES: ReadonlySet<string> = new Set([
  "SQLCMDUSER", "SQLCMDPASSWORD", "SQLCMDSERVER", "SQLCMDWORKSTATION", "SQLCMDDBNAME",
  "SQLCMDPACKETSIZE", "SQLCMDINI",
]);

/** The builtin variables, in the order :listvar prints them. */
export const BUILTIN_VARIABLES = [
  "SQLCMDCOLSEP", "SQLCMDCOLWIDTH", "SQLCMDDBNAME", "SQLCMDERRORLEVEL", "SQLCMDHEADERS",
  "SQLCMDLOGINTIMEOUT", "SQLCMDMAXFIXEDTYPEWIDTH", "SQLCMDMAXVARTYPEWIDTH", "SQLCMDPACKETSIZE",
  "SQLCMDSERVER", "SQLCMDSTATTIMEOUT", "SQLCMDUSER", "SQLCMDWORKSTATION",
] as const;

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Include nesting limit: a file that includes itself must fail, not exhaust the stack. */
const INCLUDE_DEPTH_MAX = 32;

/** Scripting variables: names case-insensitive, set values over the environment. */
export class Variables {
  private readonly values = new Map<string, string>();
  constructor(private readonly env: Readonly<Record<string, string | undefined>> = {}) {}

  /** A set value, else the environment variable (exact name first, then any case). */
  get(name: string): string | undefined {
    const key = name.toUpperCase();
    const own = this.values.get(key);
    if (own !== undefined) return own;
    const exact = this.env[name];
    if (exact !== undefined) return exact;
    for (const [envName, value] of Object.entries(this.env)) {
      if (envName.toUpperCase() === key && value !== undefined) return value;
    }
    return undefined;
  }

  /** Sets without checks (builtins at startup); `undefined` removes the variable. */
  put(name: string, value: string | undefined): void {
    if (value === undefined) this.values.delete(name.toUpperCase());
    else this.values.set(name.toUpperCase(), value);
  }

  /** :setvar / -v: returns an error message (sqlcmd's text) or null when set. */
  set(name: string, value: string | undefined): string | null {
    if (!NAME_PATTERN.test(name)) return `Sqlcmd: Error: Invalid variable identifier ${name}.`;
    if (READ_ONLY_VARIABLES.has(name.toUpperCase())) {
      return `Sqlcmd: Error: The scripting variable: '${name}' is read-only.`;
    }
    this.put(name, value);
    return null;
  }

  /** The set variables (not the environment), upper-cased names. */
  snapshot(): ReadonlyMap<string, string> {
    return new Map(this.values);
  }
}

/** A batch ready to send: text with variables resolved, and where it came from. */
export interface Batch {
  /** The text sent to the server. */
  text: string;
  /** The text as written (what -e echoes). */
  raw: string;
  /** How often to send it (`GO n`). */
  repeat: number;
  /** File the batch starts in ("" for -Q / -q / standard input). */
  source: string;
  /** 1-based line of that file the batch starts on. */
  line: number;
  /** References that had no value: reported, and left in the text as written. */
  undefinedVariables: string[];
  /** The variables at the time of the GO (output settings are read from them). */
  variables: ReadonlyMap<string, string>;
}

/** What the runner does next, in script order. A script stops after exit, quit and error. */
export type ScriptStep =
  | { kind: "batch"; batch: Batch }
  /** `:EXIT` (batch null), `:EXIT()` (the pending batch) or `:EXIT(query)` (pending + query,
   *  whose first column of its last row becomes the exit code: returnsValue). */
  | { kind: "exit"; batch: Batch | null; returnsValue: boolean }
  | { kind: "quit" }
  | { kind: "onError"; exit: boolean }
  /** Text to print on the output (:listvar). */
  | { kind: "print"; text: string }
  /** A script error (syntax, include, variable): printed on stderr; the run ends with exit 1. */
  | { kind: "error"; message: string };

/** Where a line leaves the lexer: inside a quoted token, a block comment, or neither. */
interface PendingLine { text: string; references: Reference[]; source: string; line: number }

/** Options of a ScriptProcessor. */
export interface ScriptOptions {
  /** false for -x: `$(...)` is plain text. */
  substitute: boolean;
}

/**
 * Turns script text into steps. Feed files (or -Q text) with `feed`, or lines one at a time
 * (interactive input) with `feedLine`, and call `end` at the end of each input file.
 */
export class ScriptProcessor {
  private state: LineState = { quote: null, commentDepth: 0 };
  private pending: PendingLine[] = [];
  private includeDepth = 0;
  private finished = false;

  constructor(private readonly host: ScriptHost, readonly variables: Variables,
    private readonly options: ScriptOptions) {}

  /** True once an exit, quit or error step has been produced: nothing more runs. */
  get done(): boolean { return this.finished; }

  /** 1-based number of the next line of the current batch (the interactive prompt). */
  get nextBatchLine(): number { return this.pending.length + 1; }

  /** Feeds a whole text (a file, -Q or standard input); `source` names it in messages. */
  feed(text: string, source: string): ScriptStep[] {
    const steps: ScriptStep[] = [];
    const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
    const lines = body.split("\n");
    // A final newline ends the last line; it does not start an empty one.
    if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
    for (const [index, line] of lines.entries()) {
      if (this.finished) break;
      steps.push(...this.feedLine(line, source, index + 1));
    }
    return steps;
  }

  /** End of an input: the pending batch is sent without a GO. */
  end(): ScriptStep[] {
    if (this.finished) return [];
    const batch = this.takeBatch(1);
    return batch === null ? [] : [{ kind: "batch", batch }];
  }

  /** Feeds one line (without its line break) read from `source` at 1-based `line`. */
  feedLine(rawLine: string, source: string, line: number): ScriptStep[] {
    if (this.finished) return [];
    const text = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    const atTop = this.state.quote === null && this.state.commentDepth === 0;
    if (atTop) {
      const steps = this.command(text, source, line);
      if (steps !== null) return this.stopAfter(steps);
    }
    const scanned = scanLine(text, this.state, this.options.substitute);
    if (scanned === null) return this.fail(syntaxError(line, source));
    this.state = scanned.state;
    this.pending.push({ text, references: scanned.references, source, line });
    return [];
  }

  /** Marks the script finished when a step ends it. */
  private stopAfter(steps: ScriptStep[]): ScriptStep[] {
    const ends = (step: ScriptStep): boolean =>
      step.kind === "exit" || step.kind === "quit" || step.kind === "error";
    if (steps.some(ends)) {
      this.finished = true;
    }
    return steps;
  }

  private fail(message: string): ScriptStep[] {
    this.finished = true;
    return [{ kind: "error", message }];
  }

  /** The steps of a command line, or null when the line is T-SQL. */
  private command(text: string, source: string, line: number): ScriptStep[] | null {
    const go = this.goCommand(text, source, line);
    if (go !== null) return go;
    let match: RegExpExecArray | null;
    if ((match = /^\s*:r(?:[ \t]+(.*))?$/i.exec(text)) !== null) {
      return this.include(match[1], source, line);
    }
    if ((match = /^\s*:setvar(?:[ \t]+(.*))?$/i.exec(text)) !== null) {
      return this.setvar(match[1], source, line);
    }
    if (/^\s*:listvar\s*$/i.test(text)) return [{ kind: "print", text: this.listvar() }];
    if ((match = /^\s*:?on[ \t]+error(?:[ \t]+(.*))?$/i.exec(text)) !== null) {
      const action = withoutComment(match[1] ?? "").trim().toLowerCase();
      if (action === "exit" || action === "ignore") {
        return [{ kind: "onError", exit: action === "exit" }];
      }
      return this.fail(commandError(line, source, ":ON ERROR"));
    }
    if ((match = /^\s*:?exit(?:\s*(\(.*\)))?\s*$/i.exec(text)) !== null) {
      return this.exit(match[1], source, line);
    }
    if (/^\s*:?quit\s*$/i.test(text)) return [{ kind: "quit" }];
    if (/^\s*:?reset\s*$/i.test(text)) {
      this.pending = [];
      this.state = { quote: null, commentDepth: 0 };
      return [];
    }
    if ((match = /^\s*(:[A-Za-z]+|:?!!)/.exec(text)) !== null) {
      const name = match[1]!.toUpperCase();
      const known = /^:(CONNECT|SERVERLIST|XML|PERFTRACE|OUT|ERROR|HELP|LIST|ED|!!)$|^!!$/;
      if (known.test(name)) {
        return this.fail(`Sqlcmd: Error: The ${name} command is not supported by mirrorlite sql.`);
      }
      return this.fail(commandError(line, source, name));
    }
    return null;
  }

  /** A GO line (after variable substitution) sends the pending batch `repeat` times. */
  private goCommand(text: string, source: string, line: number): ScriptStep[] | null {
    if (text.trim() === "") return null;
    const scanned = scanLine(text, { quote: null, commentDepth: 0 }, this.options.substitute);
    const resolved = scanned === null ? text : this.resolve(text, scanned.references, []);
    // splitGo drops batches that are only whitespace, so a line that splits into nothing is a
    // separator; its count comes from splitting it after a placeholder line.
    if (splitGo(resolved).length !== 0) return null;
    const repeat = splitGo(`-\n${resolved}`)[0]?.repeat ?? 1;
    if (repeat < 1) return this.fail(commandError(line, source, "GO"));
    const batch = this.takeBatch(repeat);
    return batch === null ? [] : [{ kind: "batch", batch }];
  }

  private include(argument: string | undefined, source: string, line: number): ScriptStep[] {
    const name = argument === undefined ? "" : this.argumentValue(argument);
    if (name === "") return this.fail(commandError(line, source, ":R"));
    if (this.includeDepth >= INCLUDE_DEPTH_MAX) {
      return this.fail(`Sqlcmd: Error: :r ${name} nests includes more than ${INCLUDE_DEPTH_MAX} `
        + "deep.");
    }
    let text: string;
    try {
      text = this.host.readFile(name);
    } catch (error) {
      return this.fail(`Sqlcmd: Error: Error occurred while opening or operating on file ${name} `
        + `(Reason: ${(error as Error).message}).`);
    }
    this.includeDepth += 1;
    try {
      return this.feed(text, name);
    } finally {
      this.includeDepth -= 1;
    }
  }

  private setvar(argument: string | undefined, source: string, line: number): ScriptStep[] {
    const parsed = parseSetvar(withoutComment(argument ?? "").trim());
    if (parsed === null) return this.fail(commandError(line, source, ":SETVAR"));
    const error = this.variables.set(parsed.name, parsed.value);
    return error === null ? [] : this.fail(error);
  }

  private listvar(): string {
    const values = this.variables.snapshot();
    const builtins = new Set<string>(BUILTIN_VARIABLES);
    const names = [...BUILTIN_VARIABLES.filter((name) => values.has(name)),
      ...[...values.keys()].filter((name) => !builtins.has(name)).sort()];
    return names.map((name) => `${name} = "${values.get(name)}"\n`).join("");
  }

  private exit(parens: string | undefined, source: string, line: number): ScriptStep[] {
    if (parens === undefined) return [{ kind: "exit", batch: null, returnsValue: false }];
    const query = parens.slice(1, -1).trim();
    if (query !== "") {
      const scanned = scanLine(query, { quote: null, commentDepth: 0 }, this.options.substitute);
      if (scanned === null) return this.fail(syntaxError(line, source));
      this.pending.push({ text: query, references: scanned.references, source, line });
    }
    return [{ kind: "exit", batch: this.takeBatch(1), returnsValue: query !== "" }];
  }

  /** A command argument: surrounding double quotes removed ("" inside is one "). */
  private argumentValue(argument: string): string {
    const text = withoutComment(argument).trim();
    const unquoted = /^"(.*)"$/.exec(text);
    const value = unquoted === null ? text : unquoted[1]!.replaceAll('""', '"');
    const scanned = scanLine(value, { quote: null, commentDepth: 0 }, this.options.substitute);
    return scanned === null ? value : this.resolve(value, scanned.references, []);
  }

  /** The pending lines as a batch (null when there are none), and a fresh batch state. */
  private takeBatch(repeat: number): Batch | null {
    const lines = this.pending;
    this.pending = [];
    this.state = { quote: null, commentDepth: 0 };
    const first = lines[0];
    if (first === undefined) return null;
    const raw = lines.map((line) => line.text).join("\n");
    if (raw.trim() === "") return null;
    const undefinedVariables: string[] = [];
    const text = lines.map((line) => this.resolve(line.text, line.references, undefinedVariables))
      .join("\n");
    return { text, raw, repeat, source: first.source, line: first.line, undefinedVariables,
      variables: this.variables.snapshot() };
  }

  /** Replaces the references of one line; unknown names are collected and left as written. */
  private resolve(text: string, references: Reference[], undefinedNames: string[]): string {
    if (references.length === 0) return text;
    let result = "";
    let position = 0;
    for (const reference of references) {
      const value = this.variables.get(reference.name);
      result += text.slice(position, reference.start);
      if (value === undefined) {
        if (!undefinedNames.includes(reference.name)) undefinedNames.push(reference.name);
        result += text.slice(reference.start, reference.end);
      } else {
        result += value;
      }
      position = reference.end;
    }
    return result + text.slice(position);
  }
}

/** `name`, `name value` or `name "value with ""quotes"""`; null when malformed. */
export function parseSetvar(argument: string): { name: string; value: string | undefined } | null {
  const match = /^(\S+)(?:\s+(.*))?$/.exec(argument);
  if (match === null) return null;
  const name = match[1]!;
  const rest = match[2];
  if (rest === undefined || rest === "") return { name, value: undefined };
  const value = parseValue(rest);
  return value === null ? null : { name, value };
}

/** A -v or :setvar value: unquoted without blanks, or double-quoted with "" for a quote. */
export function parseValue(text: string): string | null {
  if (!text.startsWith('"')) return /\s/.test(text) ? null : text;
  if (text.length < 2 || !text.endsWith('"')) return null;
  const inner = text.slice(1, -1);
  // Every quote inside must be doubled.
  if (inner.replaceAll('""', "").includes('"')) return null;
  return inner.replaceAll('""', '"');
}

/** Text before a ` --` comment outside double quotes (command arguments may carry one). */
function withoutComment(argument: string): string {
  let quoted = false;
  for (let i = 0; i < argument.length; i++) {
    const char = argument[i]!;
    if (char === '"') quoted = !quoted;
    else if (!quoted && argument.startsWith("--", i) && (i === 0 || /\s/.test(argument[i - 1]!))) {
      return argument.slice(0, i);
    }
  }
  return argument;
}

function inFile(source: string): string {
  return source === "" ? "" : ` in file '${source}'`;
}

function syntaxError(line: number, source: string): string {
  return `Sqlcmd: Error: Syntax error at line ${line}${inFile(source)}.`;
}

function commandError(line: number, source: string, command: string): string {
  return `Sqlcmd: Error: Syntax error at line ${line} near command '${command}'${inFile(source)}.`;
}

/** Convenience for tests and one-shot inputs: every step of one text, ended. */
export function processScript(text: string, host: ScriptHost, variables = new Variables(host.env),
  options: ScriptOptions = { substitute: true }): ScriptStep[] {
  const processor = new ScriptProcessor(host, variables, options);
  return [...processor.feed(text, ""), ...processor.end()];
}
