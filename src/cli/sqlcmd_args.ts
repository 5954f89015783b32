// sqlcmd's command line for `mirrorlite sql`. Pure. sqlcmd's own grammar, not getopt's: options
// are single case-sensitive letters whose value may be attached (`-h-1`, `-Sserver`) or the next
// argument (`-h -1`); `-v` and `-i` take several values (`-v a=1 b=2`, `-i a.sql b.sql` besides
// `-i a.sql,b.sql`); `-r` and `-N` take an optional attached value (`-r1`, `-Ns`). Messages
// follow sqlcmd's ("Sqlcmd: '-x': Unknown Option. Enter '-?' for help.").

/** Encryption as tedious takes it: false, true (TDS 7.x TLS) or "strict" (TDS 8.0). */
export type Encrypt = boolean | "strict";

/** The parsed command line (see USAGE in sql.ts for the meaning of each option). */
export interface SqlcmdOptions {
  help: boolean;
  /** -S, or SQLCMDSERVER; "" when neither (localhost). */
  server: string;
  /** -U, or SQLCMDUSER. */
  user: string | undefined;
  /** -P, or SQLCMDPASSWORD. */
  password: string | undefined;
  database: string | undefined;
  /** -Q (exit: true) or -q (exit: false: standard input follows). */
  query: { text: string; exit: boolean } | undefined;
  inputFiles: string[];
  outputFile: string | undefined;
  headers: number;
  colsep: string;
  trimSpaces: boolean;
  /** Seconds; 0 = wait forever. */
  loginTimeout: number;
  /** Seconds; 0 = no timeout. */
  queryTimeout: number;
  variables: Array<[string, string]>;
  /** -x: `$(...)` is left alone. */
  disableVariables: boolean;
  exitOnError: boolean;
  /** -m: messages below this severity are not printed; -1 prints every message's header. */
  errorLevel: number;
  /** -r: undefined = everything on the output; 0 = errors (severity >= 11) on stderr; 1 = all. */
  errorsToStderr: 0 | 1 | undefined;
  echo: boolean;
  encrypt: Encrypt;
  trustServerCertificate: boolean;
  maxVarWidth: number;
  maxFixedWidth: number;
}

/** Options that take no value. */
const FLAGS = new Set(["b", "C", "e", "E", "W", "x", "?"]);
/** Options that take one value. */
const VALUED = new Set(["S", "U", "P", "d", "Q", "q", "o", "h", "s", "l", "t", "m", "y", "Y"]);
/** Options that take one value or more (the following arguments that are not options). */
const LISTS = new Set(["i", "v"]);

const ENCRYPT_WORDS: Record<string, Encrypt> = {
  "": true, m: true, mandatory: true, true: true, yes: true,
  o: false, optional: false, false: false, no: false,
  s: "strict", strict: "strict",
};

/** Raw option values: the last of each single option, every value of the lists. */
interface RawArgs { single: Map<string, string>; lists: Map<string, string[]> }

/**
 * Parses `args` (after `sql`) with `env` for SQLCMDSERVER / SQLCMDUSER / SQLCMDPASSWORD /
 * SQLCMDDBNAME. Returns the options, or an error message for stderr (exit code 1).
 */
export function parseSqlcmdArgs(args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {}): SqlcmdOptions | { error: string } {
  const raw = splitArgs(args);
  if (typeof raw === "string") return { error: raw };
  const { single, lists } = raw;
  if (single.has("?")) return { ...defaults(env), help: true };
  if (single.has("E")) {
    return { error: "Sqlcmd: Error: -E (trusted connection, Windows authentication) is not "
      + "supported: mirrorlite has SQL logins only. Use -U login -P password." };
  }
  if (lists.has("i") && (single.has("Q") || single.has("q"))) {
    return { error: "Sqlcmd: Error: The -i and the -Q/-q options are mutually exclusive." };
  }
  if (single.has("Q") && single.has("q")) {
    return { error: "Sqlcmd: Error: The -Q and the -q options are mutually exclusive." };
  }
  if (single.has("W") && (single.has("y") || single.has("Y"))) {
    return { error: "Sqlcmd: Error: The -W and the -y/-Y options are mutually exclusive." };
  }
  const options = defaults(env);
  const error = applyValues(options, single) ?? applyLists(options, lists);
  return error ?? options;
}

function defaults(env: Readonly<Record<string, string | undefined>>): SqlcmdOptions {
  return {
    help: false, server: env.SQLCMDSERVER ?? "", user: env.SQLCMDUSER,
    password: env.SQLCMDPASSWORD, database: env.SQLCMDDBNAME, query: undefined, inputFiles: [],
    outputFile: undefined, headers: 0, colsep: " ", trimSpaces: false, loginTimeout: 8,
    queryTimeout: 0, variables: [], disableVariables: false, exitOnError: false, errorLevel: 0,
    errorsToStderr: undefined, echo: false, encrypt: false, trustServerCertificate: false,
    maxVarWidth: 256, maxFixedWidth: 0,
  };
}

/** Splits the arguments into option values; a string is an error message. */
function splitArgs(args: readonly string[]): RawArgs | string {
  const single = new Map<string, string>();
  const lists = new Map<string, string[]>();
  let list: string[] | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("-") || arg === "-") {
      if (list === null) return `Sqlcmd: '${arg}': Unexpected argument. Enter '-?' for help.`;
      list.push(arg);
      continue;
    }
    list = null;
    const letter = arg[1]!;
    const attached = arg.slice(2);
    if (letter === "r" || letter === "N") {
      // Optional value, attached only (a following argument is never taken as it), except
      // the spelled-out -N words go-sqlcmd accepts.
      const next = args[i + 1];
      const word = letter === "N" && attached === "" && next !== undefined
        && Object.hasOwn(ENCRYPT_WORDS, next.toLowerCase()) && next !== "" ? next : undefined;
      if (word !== undefined) i += 1;
      single.set(letter, word ?? attached);
    } else if (FLAGS.has(letter)) {
      if (attached !== "") return `Sqlcmd: '${arg}': Unknown Option. Enter '-?' for help.`;
      single.set(letter, "");
    } else if (VALUED.has(letter) || LISTS.has(letter)) {
      let value = attached;
      if (value === "") {
        const next = args[i + 1];
        // A following "-1" is a value (-h -1, -m -1); any other dash starts an option.
        if (next === undefined || (next.startsWith("-") && !/^-\d+$/.test(next))) {
          return `Sqlcmd: '-${letter}': Missing argument. Enter '-?' for help.`;
        }
        value = next;
        i += 1;
      }
      if (LISTS.has(letter)) {
        list = lists.get(letter) ?? [];
        lists.set(letter, list);
        list.push(value);
      } else {
        single.set(letter, value);
      }
    } else {
      return `Sqlcmd: '-${letter}': Unknown Option. Enter '-?' for help.`;
    }
  }
  return { single, lists };
}

/** An integer option within [min, max], or an error message. */
function integer(flag: string, text: string, min: number, max: number): number | string {
  const value = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (Number.isInteger(value) && value >= min && value <= max) return value;
  return `Sqlcmd: '-${flag} ${text}': value must be greater than or equal to ${min} `
    + `and less than or equal to ${max}.`;
}

type Failure = { error: string } | null;

function applyValues(options: SqlcmdOptions, single: Map<string, string>): Failure {
  const strings: Array<[string, (value: string) => void]> = [
    ["S", (v) => { options.server = v; }], ["U", (v) => { options.user = v; }],
    ["P", (v) => { options.password = v; }], ["d", (v) => { options.database = v; }],
    ["o", (v) => { options.outputFile = v; }],
    ["Q", (v) => { options.query = { text: v, exit: true }; }],
    ["q", (v) => { options.query = { text: v, exit: false }; }],
  ];
  for (const [flag, set] of strings) {
    const value = single.get(flag);
    if (value !== undefined) set(value);
  }
  options.exitOnError = single.has("b");
  options.trustServerCertificate = single.has("C");
  options.echo = single.has("e");
  options.trimSpaces = single.has("W");
  options.disableVariables = single.has("x");
  const s = single.get("s");
  if (s !== undefined) {
    if (s === "") return { error: "Sqlcmd: '-s': Missing argument. Enter '-?' for help." };
    options.colsep = s;
  }
  const r = single.get("r");
  if (r !== undefined) {
    if (r !== "" && r !== "0" && r !== "1") {
      return { error: `Sqlcmd: '-r${r}': Unexpected argument. Argument value has to be one of `
        + "[0 1]." };
    }
    options.errorsToStderr = r === "1" ? 1 : 0;
  }
  const n = single.get("N");
  if (n !== undefined) {
    const encrypt = ENCRYPT_WORDS[n.toLowerCase()];
    if (encrypt === undefined) {
      return { error: `Sqlcmd: '-N ${n}': Unexpected argument. Argument value has to be one of `
        + "[s[trict] m[andatory] o[ptional] true false]." };
    }
    options.encrypt = encrypt;
  }
  return applyNumbers(options, single);
}

function applyNumbers(options: SqlcmdOptions, single: Map<string, string>): Failure {
  const h = single.get("h");
  if (h !== undefined) {
    const value = /^-?\d+$/.test(h.trim()) ? Number(h) : NaN;
    if (!(value === -1 || (Number.isInteger(value) && value >= 1 && value <= 2147483647))) {
      return { error: `Sqlcmd: '-h ${h}': header value must be either -1 or a value between 1 `
        + "and 2147483647." };
    }
    options.headers = value;
  }
  const ranges: Array<[string, number, number, (value: number) => void]> = [
    ["l", 0, 65534, (v) => { options.loginTimeout = v; }],
    ["t", 0, 65534, (v) => { options.queryTimeout = v; }],
    ["m", -1, 2147483647, (v) => { options.errorLevel = v; }],
    ["y", 0, 8000, (v) => { options.maxVarWidth = v; }],
    ["Y", 0, 8000, (v) => { options.maxFixedWidth = v; }],
  ];
  for (const [flag, min, max, set] of ranges) {
    const text = single.get(flag);
    if (text === undefined) continue;
    const value = integer(flag, text, min, max);
    if (typeof value === "string") return { error: value };
    set(value);
  }
  return null;
}

function applyLists(options: SqlcmdOptions, lists: Map<string, string[]>): Failure {
  for (const value of lists.get("i") ?? []) {
    options.inputFiles.push(...value.split(",").filter((file) => file !== ""));
  }
  for (const assignment of lists.get("v") ?? []) {
    const match = /^([^=\s]+)\s*=(.*)$/s.exec(assignment);
    if (match === null) {
      return { error: `Sqlcmd: '-v ${assignment}': Invalid argument: expected var=value.` };
    }
    options.variables.push([match[1]!, match[2]!]);
  }
  return null;
}
