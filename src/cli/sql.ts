// `mirrorlite sql`: a sqlcmd-compatible client over TDS (tedious). The command line is parsed in
// sqlcmd_args.ts, scripts become steps in sqlcmd_script.ts (variables, :r, GO, EXIT, ...), and
// results are formatted by sqlcmd_output.ts; this file connects, runs the steps in order, writes
// the output and decides the exit code, with sqlcmd's rules:
// - 0 unless something below applies (SQL errors alone do not change it);
// - 1 for a bad command line, a failed login, a script error, and, under -b or ":on error exit",
//   the first batch raising an error of severity > 10 (the run stops there) or a reference to
//   an undefined scripting variable;
// - the message number of an error or message raised with state 127;
// - the value :EXIT(query) selects (first column of its last row; -100 after an error, -101
//   without rows, -102 when it is not a number), as a process exit status (its low byte).
import * as fs from "node:fs";
import * as os from "node:os";
import * as readline from "node:readline";
import { Connection, Request, type ConnectionConfiguration } from "tedious";
import { parseSqlcmdArgs, type SqlcmdOptions } from "./sqlcmd_args.js";
import {
  DEFAULT_OUTPUT, displayValue, formatMessage, ResultSetPrinter, rowsAffected, type ColumnMeta,
  type OutputSettings, type ServerMessage,
} from "./sqlcmd_output.js";
import { ScriptProcessor, Variables, type Batch, type ScriptStep } from "./sqlcmd_script.js";

export const SQL_USAGE = `usage: mirrorlite sql [options]      (sqlcmd-compatible)
  -S [tcp:]host[,port]    server (default localhost,1433; or SQLCMDSERVER)
  -U login -P password    SQL authentication (or SQLCMDUSER / SQLCMDPASSWORD; no -P: prompt)
  -d db                   initial database
  -N[s|m|o] -C            encrypt (strict TDS 8 / mandatory / optional); trust the certificate
                          (-Ns always validates it, as TDS 8 requires: -C does not apply)
  -l seconds -t seconds   login timeout (8; 0 = none), query timeout (none)
  -Q "query" | -q "query" run and exit | run, then read standard input
  -i file[,file...]       input files, run in order        -o file   output file
  -v var=value...         scripting variables for $(var)   -x        no $(var) substitution
  -h n -s c -W            headers every n rows (-1 none), column separator, no trailing spaces
  -y n -Y n               width of max types (256), cap on fixed types (0 = none)
  -b                      stop with exit code 1 at the first error of severity > 10
  -m level                hide messages under level (-1: every message with its header)
  -r[0|1]                 errors (1: all messages) to stderr
  -e                      echo each batch before running it
script commands: GO [n]  :r file  :setvar var ["value"]  :listvar  :on error exit|ignore
  [:]EXIT[(query)]  [:]QUIT  [:]RESET        (-E, Windows authentication, is not supported)
`;

/** setTimeout's largest delay: what "wait forever" (-l 0) becomes for tedious. */
const FOREVER_MS = 2 ** 31 - 1;
/** Output is written in chunks of about this size (a result set can be large). */
const FLUSH_BYTES = 64 * 1024;

/** A destination written in order: standard output, standard error or a file. */
class Sink {
  private chunks: string[] = [];
  private bytes = 0;
  constructor(private readonly stream: NodeJS.WriteStream | null, private readonly fd: number) {}

  static file(path: string): Sink {
    return new Sink(null, fs.openSync(path, "w"));
  }

  write(text: string): void {
    this.chunks.push(text);
    this.bytes += text.length;
    if (this.bytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.bytes === 0 && this.chunks.length === 0) return;
    const text = this.chunks.join("");
    this.chunks = [];
    this.bytes = 0;
    if (this.stream !== null) this.stream.write(text);
    else fs.writeSync(this.fd, text);
  }

  close(): void {
    this.flush();
    if (this.stream === null) fs.closeSync(this.fd);
  }
}

/** The two outputs; writing to one flushes the other first, so a terminal shows them in order. */
class Output {
  constructor(readonly out: Sink, readonly err: Sink, readonly toFile: boolean) {}
  write(text: string): void { this.err.flush(); this.out.write(text); }
  error(text: string): void { this.out.flush(); this.err.write(text); this.err.flush(); }
  flush(): void { this.out.flush(); this.err.flush(); }
}

/** Entry point: runs the command line `args` (after `sql`); resolves with the exit code. */
export async function runSql(args: string[]): Promise<number> {
  // tedious names an IP address as the TLS server name, which Node reports as deprecated on
  // stderr; this program's stderr carries sqlcmd's messages only.
  process.noDeprecation = true;
  const parsed = parseSqlcmdArgs(args, process.env);
  if ("error" in parsed) {
    process.stderr.write(`${parsed.error}\n`);
    return 1;
  }
  if (parsed.help) {
    process.stdout.write(SQL_USAGE);
    return 0;
  }
  const options = parsed;
  // sqlcmd checks every input file before it runs any.
  for (const file of options.inputFiles) {
    if (!isFile(file)) {
      process.stderr.write(`Sqlcmd: '${file}': Invalid filename.\n`);
      return 1;
    }
  }
  const problem = await completeLogin(options);
  if (problem !== null) {
    process.stderr.write(`${problem}\n`);
    return 1;
  }
  let output: Output;
  try {
    const out = options.outputFile === undefined ? new Sink(process.stdout, 1)
      : Sink.file(options.outputFile);
    output = new Output(out, new Sink(process.stderr, 2), options.outputFile !== undefined);
  } catch (error) {
    process.stderr.write(`Sqlcmd: Error: Error occurred while opening or operating on file `
      + `${options.outputFile} (Reason: ${fileReason(error)}).\n`);
    return 1;
  }
  try {
    return await session(options, output);
  } finally {
    output.out.close();
    output.err.flush();
  }
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Checks the login options and asks for a missing password on a terminal; null when ready. */
async function completeLogin(options: SqlcmdOptions): Promise<string | null> {
  if (options.user === undefined) {
    return "Sqlcmd: Error: -U login is required: mirrorlite has SQL authentication only "
      + "(no Windows authentication).";
  }
  if (options.password !== undefined) return null;
  if (!process.stdin.isTTY) {
    return "Sqlcmd: Error: -P password (or SQLCMDPASSWORD) is required when standard input "
      + "is not a terminal.";
  }
  const password = await promptPassword();
  if (password === null) return "Sqlcmd: Error: no password given.";
  options.password = password;
  return null;
}

/** Reads a password from the terminal without echoing it; null on Ctrl-C. */
function promptPassword(): Promise<string | null> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    process.stderr.write("Password: ");
    stdin.setRawMode(true);
    stdin.setEncoding("utf8");
    stdin.resume();
    let password = "";
    const finish = (value: string | null): void => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n" || char === "\u0004") return finish(password);
        if (char === "\u0003") return finish(null);
        if (char === "\u007f" || char === "\b") password = password.slice(0, -1);
        else password += char;
      }
    };
    stdin.on("data", onData);
  });
}

/** Connects, runs the inputs (-Q / -q, -i files, standard input) and returns the exit code. */
async function session(options: SqlcmdOptions, output: Output): Promise<number> {
  const variables = new Variables(process.env);
  setBuiltinVariables(variables, options);
  for (const [name, value] of options.variables) {
    const error = variables.set(name, value);
    if (error !== null) {
      output.error(`${error}\n`);
      return 1;
    }
  }
  const processor = new ScriptProcessor({ readFile: readScriptFile, env: process.env }, variables,
    { substitute: !options.disableVariables });
  const connection = await connect(options, output);
  if (connection === null) return 1;
  const runner = new Runner(connection, options, output);
  try {
    if (options.query !== undefined) {
      const steps = [...processor.feed(options.query.text, ""), ...processor.end()];
      if (await runner.run(steps) || options.query.exit) return runner.exitCode;
    } else if (options.inputFiles.length > 0) {
      for (const file of options.inputFiles) {
        const steps = [...processor.feed(readScriptFile(file), file), ...processor.end()];
        if (await runner.run(steps)) break;
      }
      return runner.exitCode;
    }
    if (process.stdin.isTTY) await interactive(processor, runner);
    else await runner.run([...processor.feed(fs.readFileSync(0, "utf8"), ""), ...processor.end()]);
    return runner.exitCode;
  } finally {
    output.flush();
    await closeConnection(connection);
  }
}

/** The builtin scripting variables, from the options (SQLCMDHEADERS, SQLCMDCOLSEP, ...). */
function setBuiltinVariables(variables: Variables, options: SqlcmdOptions): void {
  const values: Record<string, string> = {
    SQLCMDCOLSEP: options.colsep, SQLCMDCOLWIDTH: "0", SQLCMDDBNAME: options.database ?? "",
    SQLCMDERRORLEVEL: String(options.errorLevel), SQLCMDHEADERS: String(options.headers),
    SQLCMDLOGINTIMEOUT: String(options.loginTimeout),
    SQLCMDMAXFIXEDTYPEWIDTH: String(options.maxFixedWidth),
    SQLCMDMAXVARTYPEWIDTH: String(options.maxVarWidth), SQLCMDPACKETSIZE: "4096",
    SQLCMDSERVER: options.server === "" ? "localhost" : options.server,
    SQLCMDSTATTIMEOUT: String(options.queryTimeout), SQLCMDUSER: options.user ?? "",
    SQLCMDWORKSTATION: os.hostname(),
  };
  for (const [name, value] of Object.entries(values)) variables.put(name, value);
}

/** An input file: UTF-8, or UTF-16 with its byte-order mark; relative to the current directory. */
function readScriptFile(file: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new Error(fileReason(error));
  }
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString("utf16le");
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    return Buffer.from(bytes.subarray(2)).swap16().toString("utf16le");
  }
  return bytes.toString("utf8");
}

function fileReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "No such file or directory";
  if (code === "EACCES") return "Permission denied";
  if (code === "EISDIR") return "Is a directory";
  return (error as Error).message;
}

/** Reads standard input from a terminal: "1> " prompts, a batch runs at each GO. */
async function interactive(processor: ScriptProcessor, runner: Runner): Promise<void> {
  const lines = readline.createInterface({
    input: process.stdin, output: process.stdout, prompt: "1> ",
  });
  let lineNumber = 0;
  lines.prompt();
  for await (const line of lines) {
    lineNumber += 1;
    if (await runner.run(processor.feedLine(line, "", lineNumber))) break;
    lines.setPrompt(`${processor.nextBatchLine}> `);
    lines.prompt();
  }
  lines.close();
}

/** -S [tcp:]host[\instance][,port]; sqlcmd's "." and "(local)" are this machine. */
export function parseServer(text: string): { host: string; port: number } | string {
  const match = /^(?:(tcp|np|lpc|admin):)?([^\\,]*)(?:\\([^,]*))?(?:,(.*))?$/i.exec(text.trim());
  if (match === null) return `Sqlcmd: Error: -S ${text}: expected [tcp:]host[,port].`;
  if (match[1] !== undefined && match[1].toLowerCase() !== "tcp") {
    return `Sqlcmd: Error: -S ${text}: only TCP connections are supported.`;
  }
  const name = match[2] ?? "";
  const host = name === "" || name === "." || name.toLowerCase() === "(local)" ? "localhost" : name;
  if (match[4] === undefined) {
    // There is no SQL Server Browser to resolve an instance name to a port.
    if (match[3] !== undefined) {
      return `Sqlcmd: Error: -S ${text}: give the instance's port (host,port).`;
    }
    return { host, port: 1433 };
  }
  const port = Number(match[4]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return `Sqlcmd: Error: -S ${text}: ${match[4]} is not a TCP port.`;
  }
  return { host, port };
}

/**
 * The tedious configuration for the options: SQL authentication, -N as `encrypt` (false
 * without -N, true for -N / -Nm, "strict" for -Ns), -C as `trustServerCertificate`, -d, and -l
 * as the login timeout. Queries have no client timeout unless -t sets one per request.
 */
export function connectionConfig(options: SqlcmdOptions, target: { host: string; port: number }):
  ConnectionConfiguration {
  return {
    server: target.host,
    authentication: {
      type: "default",
      options: { userName: options.user ?? "", password: options.password ?? "" },
    },
    options: {
      port: target.port,
      encrypt: options.encrypt,
      trustServerCertificate: options.trustServerCertificate,
      ...(options.database === undefined ? {} : { database: options.database }),
      connectTimeout: options.loginTimeout === 0 ? FOREVER_MS : options.loginTimeout * 1000,
      requestTimeout: 0,
      appName: "mirrorlite sql",
    },
  };
}

/** Logs in; prints why it failed (the server's messages, or the client's error) and gives null. */
function connect(options: SqlcmdOptions, output: Output): Promise<Connection | null> {
  const target = parseServer(options.server);
  if (typeof target === "string") {
    output.error(`${target}\n`);
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    const connection = new Connection(connectionConfig(options, target));
    let serverErrors = 0;
    // Login errors (18456, 4060, ...) arrive as ERROR tokens before the login fails.
    const onLoginError = (message: ServerMessage): void => {
      serverErrors += 1;
      output.write(formatMessage(message, false));
    };
    connection.on("errorMessage", onLoginError);
    // A socket error after login fails the running request; this keeps it from throwing.
    connection.on("error", () => undefined);
    connection.connect((error) => {
      connection.off("errorMessage", onLoginError);
      if (error === undefined || error === null) return resolve(connection);
      if (serverErrors === 0) {
        const timeout = (error as { code?: string }).code === "ETIMEOUT";
        const text = timeout ? `Login timeout expired (${error.message})` : error.message;
        output.error(`Sqlcmd: Error: ${text}.\n`);
      }
      output.flush();
      resolve(null);
    });
  });
}

function closeConnection(connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    if (connection.closed) return resolve();
    connection.once("end", () => resolve());
    connection.close();
  });
}

/** What one send of a batch produced. */
interface BatchResult {
  /** Highest severity of the errors it raised (0 when none). */
  severity: number;
  /** The number of a message raised with state 127 (sqlcmd exits with it). */
  exitNumber: number | undefined;
  /** First column of the last row of the last result set with rows, as displayed. */
  lastValue: string | undefined;
  /** The connection failed: nothing more can run. */
  broken: boolean;
}

/** The settings read from a batch's SQLCMD* variables, falling back to the options. */
interface BatchSettings { output: OutputSettings; errorLevel: number; timeoutSeconds: number }

function batchSettings(batch: Batch, options: SqlcmdOptions): BatchSettings {
  const number = (name: string, fallback: number, min: number): number => {
    const text = batch.variables.get(name);
    const value = text === undefined || !/^-?\d+$/.test(text.trim()) ? NaN : Number(text);
    return Number.isInteger(value) && value >= min ? value : fallback;
  };
  const colsep = batch.variables.get("SQLCMDCOLSEP");
  return {
    output: {
      ...DEFAULT_OUTPUT,
      headers: number("SQLCMDHEADERS", options.headers, -1),
      colsep: colsep === undefined || colsep === "" ? options.colsep : colsep,
      trimSpaces: options.trimSpaces,
      maxVarWidth: number("SQLCMDMAXVARTYPEWIDTH", options.maxVarWidth, 0),
      maxFixedWidth: number("SQLCMDMAXFIXEDTYPEWIDTH", options.maxFixedWidth, 0),
    },
    errorLevel: number("SQLCMDERRORLEVEL", options.errorLevel, -1),
    timeoutSeconds: number("SQLCMDSTATTIMEOUT", options.queryTimeout, 0),
  };
}

/** Runs script steps on one connection and keeps the exit code. */
class Runner {
  exitCode = 0;
  /** -b, or the last ":on error" command. */
  private exitOnError: boolean;
  private current: { result: BatchResult; settings: BatchSettings } | null = null;

  constructor(private readonly connection: Connection, private readonly options: SqlcmdOptions,
    private readonly output: Output) {
    this.exitOnError = options.exitOnError;
    connection.on("errorMessage", (message) => this.message(message));
    connection.on("infoMessage", (message) => this.message(message));
  }

  /** Runs `steps` in order; true when the run has ended (exit, quit, error, -b). */
  async run(steps: ScriptStep[]): Promise<boolean> {
    for (const step of steps) {
      switch (step.kind) {
        case "batch":
          if (await this.batch(step.batch)) return true;
          break;
        case "exit":
          await this.exit(step.batch, step.returnsValue);
          return true;
        case "quit":
          return true;
        case "onError":
          this.exitOnError = step.exit;
          break;
        case "print":
          this.output.write(step.text);
          break;
        case "error":
          this.output.error(`${step.message}\n`);
          this.exitCode = 1;
          return true;
      }
    }
    this.output.flush();
    return false;
  }

  /** Sends a batch `repeat` times; true when the run must stop. */
  private async batch(batch: Batch): Promise<boolean> {
    if (!this.variablesDefined(batch)) return true;
    if (this.options.echo) this.output.write(`${batch.raw}\n`);
    for (let i = 0; i < batch.repeat; i++) {
      const result = await this.send(batch);
      if (this.stopsRun(result)) return true;
    }
    return false;
  }

  /** Reports undefined variables; under -b they stop the run before the batch is sent. */
  private variablesDefined(batch: Batch): boolean {
    for (const name of batch.undefinedVariables) {
      this.output.error(`'${name}' scripting variable not defined.\n`);
    }
    if (batch.undefinedVariables.length > 0 && this.exitOnError) {
      this.exitCode = 1;
      return false;
    }
    return true;
  }

  /** Applies sqlcmd's exit rules to a batch's result; true when the run stops. */
  private stopsRun(result: BatchResult): boolean {
    if (result.broken) {
      this.exitCode = 1;
      return true;
    }
    if (result.exitNumber !== undefined) {
      this.exitCode = result.exitNumber & 0xff;
      return true;
    }
    if (result.severity > 10 && this.exitOnError) {
      this.exitCode = 1;
      return true;
    }
    return false;
  }

  /** :EXIT, :EXIT() and :EXIT(query). */
  private async exit(batch: Batch | null, returnsValue: boolean): Promise<void> {
    if (batch === null || !this.variablesDefined(batch)) return;
    if (this.options.echo) this.output.write(`${batch.raw}\n`);
    const result = await this.send(batch);
    if (this.stopsRun(result) || !returnsValue) return;
    let value: number;
    if (result.lastValue === undefined) value = result.severity > 10 ? -100 : -101;
    else {
      const parsed = Number.parseInt(result.lastValue.trim(), 10);
      value = Number.isNaN(parsed) ? -102 : parsed;
    }
    // The process exit status is the low byte of sqlcmd's 4-byte return value.
    this.exitCode = value & 0xff;
  }

  /** Sends one batch and prints what comes back. */
  private send(batch: Batch): Promise<BatchResult> {
    const settings = batchSettings(batch, this.options);
    const result: BatchResult = {
      severity: 0, exitNumber: undefined, lastValue: undefined, broken: false,
    };
    this.current = { result, settings };
    let printer: ResultSetPrinter | null = null;
    const endResultSet = (): void => {
      if (printer !== null) this.output.write(printer.end());
      printer = null;
    };
    return new Promise((resolve) => {
      const request = new Request(batch.text, (error) => {
        endResultSet();
        this.current = null;
        if (error !== undefined && error !== null) this.requestFailed(error, result);
        this.output.flush();
        resolve(result);
      });
      if (settings.timeoutSeconds > 0) request.setTimeout(settings.timeoutSeconds * 1000);
      request.on("columnMetadata", (columns) => {
        endResultSet();
        const list = (Array.isArray(columns) ? columns : Object.values(columns)) as TediousColumn[];
        printer = new ResultSetPrinter(list.map(columnMeta), settings.output);
        this.output.write(printer.start());
      });
      request.on("row", (columns) => {
        const list = (Array.isArray(columns) ? columns : Object.values(columns)) as
          { value: unknown }[];
        const values = list.map((column) => column.value);
        if (printer === null) return;
        this.output.write(printer.row(values));
        result.lastValue = displayValue(values[0], printer.columns[0]!);
      });
      const done = (rowCount: number | undefined): void => {
        endResultSet();
        if (rowCount !== undefined) this.output.write(rowsAffected(rowCount));
      };
      request.on("done", done);
      request.on("doneInProc", done);
      request.on("doneProc", done);
      this.connection.execSqlBatch(request);
    });
  }

  /** A request that ended in error: SQL errors were printed already; others are reported. */
  private requestFailed(error: Error, result: BatchResult): void {
    const code = (error as { code?: string }).code;
    if (code === "EREQUEST" || code === "ECANCEL") {
      result.severity = Math.max(result.severity, 11);
      return;
    }
    if (code === "ETIMEOUT") {
      this.output.write("Sqlcmd: Error: Query timeout expired.\n");
      result.severity = Math.max(result.severity, 11);
      return;
    }
    this.output.error(`Sqlcmd: Error: ${error.message}\n`);
    result.broken = true;
  }

  /** A server message during a batch: counted, filtered by -m, routed by -r. */
  private message(message: ServerMessage): void {
    const current = this.current;
    if (current === null) return;
    if (message.class > 10) {
      current.result.severity = Math.max(current.result.severity, message.class);
    }
    if (message.state === 127) current.result.exitNumber = message.number;
    const level = current.settings.errorLevel;
    if (level > 0 && message.class < level) return;
    const text = formatMessage(message, level === -1);
    const toStderr = this.options.errorsToStderr;
    // -r has no effect when the output goes to a file (-o), as in sqlcmd.
    if (toStderr !== undefined && !this.output.toFile && (message.class > 10 || toStderr === 1)) {
      this.output.error(text);
    } else {
      this.output.write(text);
    }
  }
}

/** The parts of tedious's column metadata the layout needs. */
interface TediousColumn {
  colName: string;
  type: { name: string };
  dataLength?: number;
  precision?: number;
  scale?: number;
}

function columnMeta(column: TediousColumn): ColumnMeta {
  return { name: column.colName, type: column.type.name, dataLength: column.dataLength,
    precision: column.precision, scale: column.scale };
}
