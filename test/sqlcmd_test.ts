// Goal: `mirrorlite sql` behaves as sqlcmd for the options and script commands people rely on.
// The pure parts (command line, script processing, output format) are tested directly; then the
// real program runs against a real `mirrorlite start` process: output format, -h/-s/-W, -v and
// $(var), :setvar, nested :r includes, -o, -b and exit codes, :EXIT, -i, -Q/-q, -d, -l, -t, -e,
// -m, -r; -N/-C are checked where they reach the wire (the PRELOGIN a fake server receives).
import { test, after, before, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { connectionConfig, parseServer } from "../src/cli/sql.js";
import { parseSqlcmdArgs, type SqlcmdOptions } from "../src/cli/sqlcmd_args.js";
import {
  displayValue, formatMessage, layoutColumns, ResultSetPrinter, rowsAffected, DEFAULT_OUTPUT,
  type ColumnMeta,
} from "../src/cli/sqlcmd_output.js";
import {
  parseValue, processScript, ScriptProcessor, Variables, type ScriptHost, type ScriptStep,
} from "../src/cli/sqlcmd_script.js";
import { MAIN, SA_PASSWORD, startServer, type Server } from "./support/server.js";
import { tempDir } from "./support/temp.js";

// ---------------------------------------------------------------- command line

function options(args: string[], env: Record<string, string> = {}): SqlcmdOptions {
  const parsed = parseSqlcmdArgs(args, env);
  if ("error" in parsed) throw new Error(parsed.error);
  return parsed;
}

function argError(args: string[]): string {
  const parsed = parseSqlcmdArgs(args, {});
  assert.ok("error" in parsed, `expected an error for ${args.join(" ")}`);
  return parsed.error;
}

describe("command line", () => {
  test("values attached or separate, negative numbers, lists", () => {
    const o = options(["-Shost,1500", "-U", "sa", "-Psecret", "-h-1", "-m", "-1", "-s", ",", "-W",
      "-v", "a=1", "B=two words", "-i", "x.sql,y.sql", "z.sql", "-b", "-e", "-t5", "-l", "0"]);
    assert.equal(o.server, "host,1500");
    assert.equal(o.user, "sa");
    assert.equal(o.password, "secret");
    assert.equal(o.headers, -1);
    assert.equal(o.errorLevel, -1);
    assert.equal(o.colsep, ",");
    assert.equal(o.trimSpaces, true);
    assert.deepEqual(o.variables, [["a", "1"], ["B", "two words"]]);
    assert.deepEqual(o.inputFiles, ["x.sql", "y.sql", "z.sql"]);
    assert.equal(o.exitOnError, true);
    assert.equal(o.echo, true);
    assert.equal(o.queryTimeout, 5);
    assert.equal(o.loginTimeout, 0);
  });

  test("defaults and the SQLCMD* environment", () => {
    const o = options([], { SQLCMDSERVER: "db,1434", SQLCMDUSER: "u", SQLCMDPASSWORD: "p" });
    assert.deepEqual([o.server, o.user, o.password], ["db,1434", "u", "p"]);
    assert.deepEqual([o.headers, o.colsep, o.loginTimeout, o.queryTimeout, o.encrypt,
      o.trustServerCertificate, o.maxVarWidth, o.errorsToStderr], [0, " ", 8, 0, false, false, 256, undefined]);
  });

  test("-Q and -q, -r and -N forms", () => {
    assert.deepEqual(options(["-Q", "SELECT 1"]).query, { text: "SELECT 1", exit: true });
    assert.deepEqual(options(["-q", "SELECT 1"]).query, { text: "SELECT 1", exit: false });
    assert.equal(options(["-r"]).errorsToStderr, 0);
    assert.equal(options(["-r1"]).errorsToStderr, 1);
    assert.equal(options(["-N"]).encrypt, true);
    assert.equal(options(["-N", "-C"]).trustServerCertificate, true);
    assert.equal(options(["-Ns"]).encrypt, "strict");
    assert.equal(options(["-No"]).encrypt, false);
    assert.equal(options(["-N", "strict"]).encrypt, "strict");
  });

  test("errors in sqlcmd's words", () => {
    assert.match(argError(["-E"]), /-E .*not supported.*-U login -P password/);
    assert.match(argError(["-z"]), /^Sqlcmd: '-z': Unknown Option\. Enter '-\?' for help\.$/);
    assert.match(argError(["-d"]), /^Sqlcmd: '-d': Missing argument/);
    assert.match(argError(["-h", "0"]), /'-h 0': header value must be either -1 or a value between 1/);
    assert.match(argError(["-l", "70000"]), /'-l 70000': value must be greater than or equal to 0/);
    assert.match(argError(["-i", "a.sql", "-Q", "x"]), /-i and the -Q\/-q options are mutually exclusive/);
    assert.match(argError(["-W", "-y", "10"]), /mutually exclusive/);
    assert.match(argError(["-r2"]), /Unexpected argument/);
    assert.match(argError(["stray"]), /'stray': Unexpected argument/);
    assert.match(argError(["-v", "novalue"]), /expected var=value/);
  });

  test("-S forms and the tedious configuration (-N, -C, -d, -l reach the driver)", () => {
    assert.deepEqual(parseServer("tcp:10.0.0.1,1500"), { host: "10.0.0.1", port: 1500 });
    assert.deepEqual(parseServer("(local)"), { host: "localhost", port: 1433 });
    assert.deepEqual(parseServer(""), { host: "localhost", port: 1433 });
    assert.match(String(parseServer("np:pipe")), /only TCP/);
    assert.match(String(parseServer("host\\INST")), /port/);
    const plain = connectionConfig(options(["-U", "sa", "-P", "p"]), { host: "h", port: 1 });
    assert.equal(plain.options?.encrypt, false);
    assert.equal(plain.options?.trustServerCertificate, false);
    assert.equal(plain.options?.connectTimeout, 8000);
    const secure = connectionConfig(options(["-U", "sa", "-P", "p", "-N", "-C", "-d", "shop", "-l", "3"]),
      { host: "h", port: 1 });
    assert.equal(secure.options?.encrypt, true);
    assert.equal(secure.options?.trustServerCertificate, true);
    assert.equal(secure.options?.database, "shop");
    assert.equal(secure.options?.connectTimeout, 3000);
    assert.equal(connectionConfig(options(["-Ns"]), { host: "h", port: 1 }).options?.encrypt, "strict");
  });
});

// ---------------------------------------------------------------- script processing

/** A host whose files live in a map. */
function host(files: Record<string, string> = {}, env: Record<string, string> = {}): ScriptHost {
  return {
    env,
    readFile(file) {
      const text = files[file];
      if (text === undefined) throw new Error("No such file or directory");
      return text;
    },
  };
}

/** The steps, with batches reduced to [text, repeat]. */
function brief(steps: ScriptStep[]): unknown[] {
  return steps.map((step) => (step.kind === "batch" ? [step.batch.text, step.batch.repeat] : step));
}

describe("script processing", () => {
  test("GO separates batches, with a count; GO inside strings and comments is text", () => {
    const steps = processScript("SELECT 1\nGO\nSELECT 'a\nGO\nb'\n/* x\ngo\n*/ SELECT 2\ngo 3\n\nGO\nSELECT 4", host());
    assert.deepEqual(brief(steps), [["SELECT 1", 1], ["SELECT 'a\nGO\nb'\n/* x\ngo\n*/ SELECT 2", 3],
      ["SELECT 4", 1]]);
    const second = steps[1];
    assert.equal(second?.kind === "batch" ? second.batch.line : null, 3);
  });

  test("$(var) in code and strings, not in comments; names case-insensitive; environment last", () => {
    const variables = new Variables({ HOME_DIR: "/home/x" });
    assert.equal(variables.set("Table", "t"), null);
    const steps = processScript(
      "SELECT '$(TABLE)' FROM $(table) -- $(table)\n/* $(nope) */ SELECT '$(home_dir)'", host({}, {}),
      variables);
    assert.deepEqual(brief(steps), [["SELECT 't' FROM t -- $(table)\n/* $(nope) */ SELECT '/home/x'", 1]]);
  });

  test("an undefined variable is reported and left as written", () => {
    const [step] = processScript("SELECT '$(missing)', $(missing)", host());
    assert.equal(step?.kind, "batch");
    if (step?.kind !== "batch") return;
    assert.equal(step.batch.text, "SELECT '$(missing)', $(missing)");
    assert.deepEqual(step.batch.undefinedVariables, ["missing"]);
  });

  test("a malformed reference is a syntax error naming the line and file", () => {
    const processor = new ScriptProcessor(host(), new Variables(), { substitute: true });
    const steps = processor.feed("SELECT 1\nSELECT '$(a b)'", "s.sql");
    assert.deepEqual(steps, [{ kind: "error", message: "Sqlcmd: Error: Syntax error at line 2 in file 's.sql'." }]);
    assert.equal(processor.done, true);
    assert.deepEqual(processor.end(), []);
  });

  test("-x leaves $(...) alone", () => {
    const steps = processScript("SELECT '$(a b)', '$(x)'", host(), new Variables(), { substitute: false });
    assert.deepEqual(brief(steps), [["SELECT '$(a b)', '$(x)'", 1]]);
  });

  test(":setvar sets, quotes, removes; resolved when the batch is sent; read-only names refused", () => {
    const steps = processScript([
      ':setvar greeting "say ""hi"""', "SELECT '$(greeting)'", ":setvar greeting later", "GO",
      ":SETVAR n 2", "SELECT $(n)", ":setvar n", "GO", ":setvar SQLCMDUSER x", "SELECT 9",
    ].join("\n"), host());
    assert.deepEqual(brief(steps), [
      ["SELECT 'later'", 1],
      ["SELECT $(n)", 1],
      { kind: "error", message: "Sqlcmd: Error: The scripting variable: 'SQLCMDUSER' is read-only." },
    ]);
    assert.equal(parseValue('"a""b"'), 'a"b');
    assert.equal(parseValue("a b"), null);
    assert.match(JSON.stringify(processScript(":setvar", host())), /near command ':SETVAR'/);
  });

  test(":r includes (nested, variables in the name) continue the batch; a missing file stops", () => {
    const files = {
      "main.sql": "SELECT 1\n:r sub/a.sql\nSELECT 3\nGO",
      "sub/a.sql": "SELECT 2\n:r \"sub/$(leaf).sql\"\nGO\n",
      "sub/b.sql": "SELECT 'b'",
    };
    const variables = new Variables();
    variables.set("leaf", "b");
    const steps = processScript(":r main.sql\nSELECT 4", host(files), variables);
    assert.deepEqual(brief(steps), [["SELECT 1\nSELECT 2\nSELECT 'b'", 1], ["SELECT 3", 1], ["SELECT 4", 1]]);
    assert.deepEqual(processScript("SELECT 1\nGO\n:r nope.sql\nSELECT 2", host()).map((s) => s.kind),
      ["batch", "error"]);
    const error = processScript(":r nope.sql", host())[0];
    assert.deepEqual(error, { kind: "error", message:
      "Sqlcmd: Error: Error occurred while opening or operating on file nope.sql (Reason: No such file or directory)." });
    const loop = processScript(":r self.sql", host({ "self.sql": ":r self.sql" }));
    assert.match(JSON.stringify(loop), /nests includes more than 32 deep/);
  });

  test("EXIT, EXIT(), EXIT(query), QUIT, :on error, RESET, unknown and unsupported commands", () => {
    const exit = (text: string): unknown[] => brief(processScript(text, host()));
    assert.deepEqual(exit("SELECT 1\n:EXIT\nSELECT 2"), [{ kind: "exit", batch: null, returnsValue: false }]);
    const withQuery = processScript("SELECT 1\nexit(SELECT 2)\nSELECT 3", host());
    assert.equal(withQuery.length, 1);
    const step = withQuery[0]!;
    assert.ok(step.kind === "exit" && step.returnsValue && step.batch?.text === "SELECT 1\nSELECT 2");
    const empty = processScript("SELECT 1\n:exit()", host())[0]!;
    assert.ok(empty.kind === "exit" && !empty.returnsValue && empty.batch?.text === "SELECT 1");
    assert.deepEqual(exit("SELECT 1\nGO\nQUIT\nSELECT 2"), [["SELECT 1", 1], { kind: "quit" }]);
    assert.deepEqual(exit(":on error exit\n:ON ERROR ignore"),
      [{ kind: "onError", exit: true }, { kind: "onError", exit: false }]);
    assert.deepEqual(exit("SELECT 1\n:reset\nSELECT 2"), [["SELECT 2", 1]]);
    assert.deepEqual(exit("SELECT 1\n:bogus"), [{ kind: "error",
      message: "Sqlcmd: Error: Syntax error at line 2 near command ':BOGUS'." }]);
    assert.match(JSON.stringify(exit(":connect other")), /:CONNECT command is not supported/);
    // Commands inside a block comment or a string are text.
    assert.deepEqual(exit("/*\n:r x.sql\n*/ SELECT 1"), [["/*\n:r x.sql\n*/ SELECT 1", 1]]);
  });

  test(":listvar prints builtins first, then the rest sorted", () => {
    const variables = new Variables();
    variables.put("SQLCMDHEADERS", "0");
    variables.set("zeta", "1");
    variables.set("alpha", "2");
    assert.deepEqual(processScript(":listvar", host(), variables),
      [{ kind: "print", text: 'SQLCMDHEADERS = "0"\nALPHA = "2"\nZETA = "1"\n' }]);
  });

  test("interactive feeding: the prompt counts batch lines, a batch runs at GO", () => {
    const processor = new ScriptProcessor(host(), new Variables(), { substitute: true });
    assert.deepEqual(processor.feedLine("SELECT 1", "", 1), []);
    assert.equal(processor.nextBatchLine, 2);
    assert.deepEqual(brief(processor.feedLine("go", "", 2)), [["SELECT 1", 1]]);
    assert.equal(processor.nextBatchLine, 1);
  });
});

// ---------------------------------------------------------------- output format

const column = (name: string, type: string, dataLength?: number, extra: Partial<ColumnMeta> = {}): ColumnMeta =>
  ({ name, type, dataLength, precision: undefined, scale: undefined, ...extra });

describe("output format", () => {
  test("widths from the types, numbers right-aligned, trailing spaces kept", () => {
    const columns = [column("a", "IntN", 4), column("b", "NVarChar", 40), column("c", "FloatN", 8),
      column("d", "IntN", 8), column("m", "NVarChar", 0xffff), column("bin", "VarBinary", 3)];
    assert.deepEqual(layoutColumns(columns, DEFAULT_OUTPUT).map((l) => [l.width, l.rightAlign]),
      [[11, true], [20, false], [24, true], [21, true], [256, false], [8, false]]);
    const printer = new ResultSetPrinter(columns.slice(0, 2), DEFAULT_OUTPUT);
    assert.equal(printer.start() + printer.row([1, "one"]) + printer.row([null, null]) + printer.end(),
      "a           b                   \n----------- --------------------\n"
      + "          1 one                 \n       NULL NULL                \n\n");
  });

  test("-W, -s, -h n and -h -1", () => {
    const columns = [column("id", "IntN", 4), column("", "NVarChar", 20)];
    const trimmed = new ResultSetPrinter(columns, { ...DEFAULT_OUTPUT, trimSpaces: true, colsep: "," });
    assert.equal(trimmed.start() + trimmed.row([7, "x"]), "id,\n--,-\n7,x\n");
    const every = new ResultSetPrinter([columns[0]!], { ...DEFAULT_OUTPUT, headers: 2, trimSpaces: true });
    assert.equal(every.start() + every.row([1]) + every.row([2]) + every.row([3]),
      "id\n--\n1\n2\n\nid\n--\n3\n");
    const none = new ResultSetPrinter([columns[0]!], { ...DEFAULT_OUTPUT, headers: -1 });
    assert.equal(none.start() + none.row([5]), "          5\n");
  });

  test("values: NULL, binary, bit, decimal, real, dates, long max values cut to -y", () => {
    assert.equal(displayValue(null, column("x", "IntN", 4)), "NULL");
    assert.equal(displayValue(Buffer.from([1, 0xab]), column("x", "VarBinary", 10)), "0x01AB");
    assert.equal(displayValue(true, column("x", "BitN", 1)), "1");
    assert.equal(displayValue(2.5, column("x", "DecimalN", 9, { precision: 10, scale: 2 })), "2.50");
    assert.equal(displayValue(0.10000000149011612, column("x", "FloatN", 4)), "0.1");
    const instant = new Date(Date.UTC(2024, 1, 3, 4, 5, 6, 789));
    assert.equal(displayValue(instant, column("x", "Date")), "2024-02-03");
    assert.equal(displayValue(instant, column("x", "DateTimeN", 8)), "2024-02-03 04:05:06.789");
    assert.equal(displayValue(instant, column("x", "DateTime2", undefined, { scale: 7 })),
      "2024-02-03 04:05:06.7890000");
    const long = new ResultSetPrinter([column("m", "NVarChar", 0xffff)], { ...DEFAULT_OUTPUT, maxVarWidth: 4 });
    assert.equal(long.row(["abcdefgh"]), "abcd\n");
  });

  test("messages and row counts", () => {
    const error = { number: 208, class: 16, state: 1, serverName: "S", procName: "", lineNumber: 3,
      message: "Invalid object name 'x'." };
    assert.equal(formatMessage(error, false), "Msg 208, Level 16, State 1, Server S, Line 3\nInvalid object name 'x'.\n");
    assert.equal(formatMessage({ ...error, procName: "p" }, false).split("\n")[0],
      "Msg 208, Level 16, State 1, Server S, Procedure p, Line 3");
    const info = { ...error, number: 5701, class: 0, message: "Changed database context to 'a'." };
    assert.equal(formatMessage(info, false), "Changed database context to 'a'.\n");
    assert.match(formatMessage(info, true), /^Msg 5701, Level 0,/);
    assert.equal(rowsAffected(1), "(1 row affected)\n");
    assert.equal(rowsAffected(0), "(0 rows affected)\n");
  });
});

// ---------------------------------------------------------------- the real program

interface Run { status: number | null; stdout: string; stderr: string }

/** Runs `node dist/src/cli/main.js sql …` without blocking this process (a fake server may answer). */
function sqlcmd(args: string[], opts: { input?: string; cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, "sql", ...args],
      { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

describe("mirrorlite sql against a server", () => {
  const temp = tempDir("sqlcmd");
  let server: Server;
  let login: string[];
  const run = (args: string[], opts: Parameters<typeof sqlcmd>[1] = {}): Promise<Run> =>
    sqlcmd([...login, ...args], opts);

  before(async () => {
    server = await startServer(path.join(temp.dir, "data"));
    login = ["-S", `127.0.0.1,${server.port}`, "-U", "sa", "-P", SA_PASSWORD];
    const setup = await run(["-b", "-Q", "CREATE DATABASE shop\nGO\nUSE shop\n"
      + "CREATE TABLE items (id INT, name NVARCHAR(20), price FLOAT)\n"
      + "INSERT INTO items VALUES (1, N'apple', 0.5)\nINSERT INTO items VALUES (22, N'pear', NULL)"]);
    assert.equal(setup.status, 0, setup.stdout + setup.stderr);
  });
  after(async () => {
    await server.stop();
    temp.remove();
  });

  test("a result set as sqlcmd prints it, with the database change message", async () => {
    const r = await run(["-Q", "USE shop\nSELECT id, name FROM items ORDER BY id"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "Changed database context to 'shop'.\n"
      + "id          name                \n----------- --------------------\n"
      + "          1 apple               \n         22 pear                \n\n(2 rows affected)\n");
  });

  test("-h -1 -W -s , give bare separated values; -h 1 repeats headers", async () => {
    const bare = await run(["-d", "shop", "-h", "-1", "-W", "-s", ",", "-Q",
      "SET NOCOUNT ON; SELECT id, name, price FROM items ORDER BY id"]);
    assert.equal(bare.stdout, "1,apple,0.5\n22,pear,NULL\n\n");
    const repeated = await run(["-d", "shop", "-h1", "-W", "-Q", "SELECT id FROM items ORDER BY id"]);
    assert.equal(repeated.stdout, "id\n--\n1\n\nid\n--\n22\n\n(2 rows affected)\n");
    // The R/W variables change the output from the next batch on.
    const viaVariable = await run(["-d", "shop", "-h", "-1", "-W", "-Q",
      "SET NOCOUNT ON\n:setvar SQLCMDCOLSEP ;\nSELECT id, name FROM items WHERE id = 1"]);
    assert.equal(viaVariable.stdout, "1;apple\n\n");
  });

  test("-v and :setvar feed $(var); an undefined variable is reported, and stops the run under -b", async () => {
    const r = await run(["-d", "shop", "-W", "-h", "-1", "-v", "col=name", "tab=items", "-Q",
      "SET NOCOUNT ON\n:setvar wanted 22\nSELECT $(col) FROM $(tab) WHERE id = $(wanted)"]);
    assert.equal(r.stdout, "pear\n\n");
    const soft = await run(["-d", "shop", "-W", "-h", "-1", "-Q", "SET NOCOUNT ON; SELECT '$(nope)' AS v\nGO\nSELECT 2"]);
    assert.equal(soft.status, 0);
    assert.equal(soft.stderr, "'nope' scripting variable not defined.\n");
    assert.equal(soft.stdout, "$(nope)\n\n2\n\n");
    const strict = await run(["-b", "-Q", "SELECT 1\nGO\nSELECT '$(nope)'\nGO\nSELECT 3"]);
    assert.equal(strict.status, 1);
    assert.equal(strict.stderr, "'nope' scripting variable not defined.\n");
    assert.doesNotMatch(strict.stdout, /\$\(nope\)|\b3\b/);
  });

  test("nested :r includes are read relative to the starting directory", async () => {
    const dir = path.join(temp.dir, "includes");
    fs.mkdirSync(path.join(dir, "lib", "deep"), { recursive: true });
    fs.writeFileSync(path.join(dir, "main.sql"), "SET NOCOUNT ON\n:r lib/one.sql\nSELECT 'main' AS m\nGO\n");
    fs.writeFileSync(path.join(dir, "lib", "one.sql"), "SELECT 'one' AS o\nGO\n:r lib/deep/two.sql\n");
    fs.writeFileSync(path.join(dir, "lib", "deep", "two.sql"), ":setvar who two\nSELECT '$(who)' AS t\nGO\n");
    const r = await run(["-W", "-h", "-1", "-i", "main.sql"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "one\n\ntwo\n\nmain\n\n");
    const missing = await run(["-Q", "SELECT 1 AS x\nGO\n:r nowhere.sql\nSELECT 2"], { cwd: dir });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /Error occurred while opening or operating on file nowhere\.sql \(Reason: No such file or directory\)/);
    assert.doesNotMatch(missing.stdout, /\b2\b/);
  });

  test("-o writes the output to a file", async () => {
    const file = path.join(temp.dir, "out.txt");
    const r = await run(["-d", "shop", "-W", "-o", file, "-Q", "SELECT COUNT(*) AS n FROM items"]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, "");
    assert.equal(fs.readFileSync(file, "utf8"), "n\n-\n2\n\n(1 row affected)\n");
  });

  test("exit codes: errors alone give 0; -b and :on error exit give 1 and stop; :EXIT(query)", async () => {
    const script = "SELECT 1 AS a\nGO\nSELECT * FROM missing_table\nGO\nSELECT 2 AS b\n";
    const soft = await run(["-Q", script]);
    assert.equal(soft.status, 0);
    assert.match(soft.stdout, /Msg 208, Level 16, State 1, Server MLTEST, Line 1\nInvalid object name 'missing_table'\./);
    assert.match(soft.stdout, /\nb\s*\n-+\n\s+2\n/);
    const strict = await run(["-b", "-Q", script]);
    assert.equal(strict.status, 1);
    assert.doesNotMatch(strict.stdout, /\nb\s*\n/);
    const onError = await run(["-Q", `:on error exit\n${script}`]);
    assert.equal(onError.status, 1);
    assert.doesNotMatch(onError.stdout, /\nb\s*\n/);
    assert.equal((await run(["-Q", "SELECT 1\n:EXIT(SELECT 7)"])).status, 7);
    assert.equal((await run(["-Q", "EXIT(SELECT 300)"])).status, 300 & 0xff);
    assert.equal((await run(["-Q", "EXIT(SELECT 'x')"])).status, -102 & 0xff);
    const bare = await run(["-Q", "SELECT 5 AS five\n:EXIT\nSELECT 6"]);
    assert.equal(bare.status, 0);
    assert.equal(bare.stdout, "", ":EXIT runs nothing");
    const quit = await run(["-Q", "SELECT 5 AS five\nGO\nQUIT\nSELECT 6 AS six"]);
    assert.match(quit.stdout, /five/);
    assert.doesNotMatch(quit.stdout, /six/);
    // An error raised with state 127 ends the run with its number (the low byte on Linux).
    const raised = await run(["-Q", "SELECT 1 AS a\nGO\nRAISERROR('quit now', 16, 127)\nGO\nSELECT 2 AS b"]);
    assert.equal(raised.status, 50000 & 0xff);
    assert.match(raised.stdout, /Msg 50000, Level 16, State 127, Server MLTEST, Line 1\nquit now\n/);
    assert.doesNotMatch(raised.stdout, /\nb\s*\n/);
  });

  test("-i runs several files in order; a missing one stops everything before it starts", async () => {
    const a = path.join(temp.dir, "a.sql");
    const b = path.join(temp.dir, "b.sql");
    fs.writeFileSync(a, "SELECT 'from a' AS a");
    fs.writeFileSync(b, "SELECT 'from b' AS b\nGO\n");
    const r = await run(["-W", "-h", "-1", "-i", `${a},${b}`, "-i", a]);
    assert.equal(r.stdout, "from a\n\n(1 row affected)\nfrom b\n\n(1 row affected)\nfrom a\n\n(1 row affected)\n");
    const missing = await run(["-i", a, path.join(temp.dir, "none.sql")]);
    assert.equal(missing.status, 1);
    assert.equal(missing.stdout, "");
    assert.match(missing.stderr, /^Sqlcmd: '.*none\.sql': Invalid filename\.\n$/);
  });

  test("-q runs its query and then reads standard input; -Q does not", async () => {
    const q = await run(["-W", "-h", "-1", "-q", "SET NOCOUNT ON; SELECT 1"], { input: "SELECT 2\nGO\nSELECT 3\n" });
    assert.equal(q.stdout, "1\n\n2\n\n3\n\n");
    const Q = await run(["-W", "-h", "-1", "-Q", "SET NOCOUNT ON; SELECT 1"], { input: "SELECT 2\nGO\n" });
    assert.equal(Q.stdout, "1\n\n");
    const stdin = await run(["-W", "-h", "-1"], { input: "SET NOCOUNT ON\nSELECT 4\nGO 2\n" });
    assert.equal(stdin.stdout, "4\n\n4\n\n");
  });

  test("-d selects the database; an unknown one fails the login", async () => {
    const r = await run(["-d", "shop", "-W", "-h", "-1", "-Q", "SET NOCOUNT ON; SELECT DB_NAME()"]);
    assert.equal(r.stdout, "shop\n\n");
    const bad = await run(["-d", "nosuchdb", "-Q", "SELECT 1"]);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /Msg 4060, Level \d+, State \d+, Server MLTEST, Line 1\nCannot open database "nosuchdb"/);
  });

  test("-t: a query that outlives the timeout is cancelled; the next batch runs; -b makes it fatal", async () => {
    const long = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 2000000000) SELECT count(*) FROM c";
    const r = await run(["-t", "1", "-W", "-h", "-1", "-Q", `${long}\nGO\nSET NOCOUNT ON; SELECT 'next'`]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, "Sqlcmd: Error: Query timeout expired.\nnext\n\n");
    const strict = await run(["-b", "-t", "1", "-Q", `${long}\nGO\nSELECT 'next'`]);
    assert.equal(strict.status, 1);
    assert.doesNotMatch(strict.stdout, /next/);
  });

  test("-e echoes batches; -m hides low severities or shows every header; -r sends errors to stderr", async () => {
    const echoed = await run(["-e", "-W", "-h", "-1", "-Q", "SET NOCOUNT ON\nSELECT 1\nGO 2"]);
    assert.equal(echoed.stdout, "SET NOCOUNT ON\nSELECT 1\n1\n\n1\n\n");
    const bad = "USE shop\nSELECT * FROM missing_table";
    const hidden = await run(["-m", "17", "-Q", bad]);
    assert.equal(hidden.stdout, "");
    const all = await run(["-m-1", "-Q", bad]);
    assert.match(all.stdout, /^Msg 5701, Level 0, State \d+, Server MLTEST, Line 1\nChanged database context to 'shop'\.\nMsg 208,/);
    const split = await run(["-r", "-Q", bad]);
    assert.equal(split.stdout, "Changed database context to 'shop'.\n");
    assert.match(split.stderr, /^Msg 208, Level 16/);
    const allToStderr = await run(["-r1", "-Q", bad]);
    assert.equal(allToStderr.stdout, "");
    assert.match(allToStderr.stderr, /^Changed database context to 'shop'\.\nMsg 208/);
    const printed = await run(["-Q", "PRINT 'note'\nRAISERROR('warning', 10, 1)"]);
    assert.equal(printed.stdout, "note\nwarning\n");
    assert.equal((await run(["-m", "1", "-Q", "PRINT 'note'"])).stdout, "", "-m 1 hides severity 0");
    const printedToStderr = await run(["-r1", "-Q", "PRINT 'note'"]);
    assert.deepEqual([printedToStderr.stdout, printedToStderr.stderr], ["", "note\n"]);
  });

  test("a failed login exits 1 with the server's message; -E is refused", async () => {
    const r = await sqlcmd(["-S", `127.0.0.1,${server.port}`, "-U", "sa", "-P", "wrong", "-Q", "SELECT 1"]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /Msg 18456, Level 14, State \d+, Server \S+, Line 1\nLogin failed for user 'sa'\./);
    const e = await sqlcmd(["-S", `127.0.0.1,${server.port}`, "-E", "-Q", "SELECT 1"]);
    assert.equal(e.status, 1);
    assert.match(e.stderr, /-E .*not supported/);
  });
});

// ---------------------------------------------------------------- what reaches the wire

/**
 * A listener that records the first bytes each client sends and then says nothing: enough to
 * see -N in the PRELOGIN (or a TLS ClientHello for -Ns) and to make -l expire.
 */
async function silentServer(): Promise<{ port: number; firsts: Buffer[]; close(): Promise<void> }> {
  const firsts: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("data", (chunk) => firsts.push(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const port = (listener.address() as net.AddressInfo).port;
  return {
    port, firsts,
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      listener.close(() => resolve());
    }),
  };
}

/** The ENCRYPTION option of a PRELOGIN packet (0 off, 1 on, 2 not supported, 3 required). */
function preloginEncryption(packet: Buffer): number | undefined {
  if (packet[0] !== 0x12) return undefined;
  for (let at = 8; at < packet.length && packet[at] !== 0xff; at += 5) {
    if (packet[at] === 0x01) return packet[8 + packet.readUInt16BE(at + 1)];
  }
  return undefined;
}

describe("options on the wire", () => {
  test("-N asks for encryption in the PRELOGIN, -Ns starts with TLS, none asks for none; -l expires", async () => {
    const fake = await silentServer();
    try {
      const base = ["-S", `127.0.0.1,${fake.port}`, "-U", "sa", "-P", "x", "-l", "1", "-Q", "SELECT 1"];
      const plain = await sqlcmd(base);
      const encrypted = await sqlcmd([...base, "-N", "-C"]);
      const strict = await sqlcmd([...base, "-Ns"]);
      for (const r of [plain, encrypted, strict]) {
        assert.equal(r.status, 1);
        assert.match(r.stderr, /^Sqlcmd: Error: Login timeout expired/);
      }
      assert.equal(fake.firsts.length, 3);
      // tedious has no login-only encryption: without -N it says NOT_SUP (2), not OFF (0).
      assert.equal(preloginEncryption(fake.firsts[0]!), 2, "ENCRYPT_NOT_SUP without -N");
      assert.equal(preloginEncryption(fake.firsts[1]!), 1, "ENCRYPT_ON with -N");
      assert.equal(fake.firsts[2]![0], 0x16, "TDS 8.0 strict: a TLS handshake comes first");
    } finally {
      await fake.close();
    }
  });
});
