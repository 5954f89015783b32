// `mirrorlite sql`: a sqlcmd-style client over TDS (tedious). GO separates batches; results are
// printed as tables followed by "(N rows affected)"; errors as "Msg N, Level L, State S, …".
// With -b the first batch that raises an error of severity > 10 stops the run with exit code 1.
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { Connection, Request } from "tedious";
import { splitGo } from "../tsql/go.js";

interface Target { host: string; port: number }
interface ColumnMetaData { colName: string }

export async function runSql(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        S: { type: "string", default: "localhost" },
        U: { type: "string" },
        P: { type: "string" },
        d: { type: "string" },
        Q: { type: "string" },
        i: { type: "string", multiple: true },
        b: { type: "boolean", default: false },
        C: { type: "boolean", default: false },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`mirrorlite sql: ${(error as Error).message}\n`);
    return 2;
  }
  if (values.U === undefined || values.P === undefined) {
    process.stderr.write("mirrorlite sql: -U login and -P password are required (SQL authentication)\n");
    return 2;
  }
  let script: string;
  try {
    script = values.Q ?? (values.i ?? []).map((file) => fs.readFileSync(file, "utf8")).join("\nGO\n");
  } catch (error) {
    process.stderr.write(`mirrorlite sql: ${(error as Error).message}\n`);
    return 1;
  }
  if (values.Q === undefined && values.i === undefined) script = fs.readFileSync(0, "utf8");
  const connection = await connect(parseServer(values.S), values.U, values.P, values.d);
  if (connection instanceof Error) {
    process.stdout.write(`${connection.message}\n`);
    return 1;
  }
  try {
    for (const batch of splitGo(script)) {
      for (let i = 0; i < batch.repeat; i++) {
        const failed = await runBatch(connection, batch.text);
        if (failed && values.b) return 1;
      }
    }
    return 0;
  } finally {
    connection.close();
  }
}

function parseServer(text: string): Target {
  const [host, port] = text.replace(/^tcp:/i, "").split(",");
  return { host: host === "" || host === undefined ? "localhost" : host, port: port === undefined ? 1433 : Number(port) };
}

function connect(target: Target, user: string, password: string, database: string | undefined): Promise<Connection | Error> {
  return new Promise((resolve) => {
    const connection = new Connection({
      server: target.host,
      authentication: { type: "default", options: { userName: user, password } },
      options: {
        port: target.port, encrypt: false, trustServerCertificate: true,
        ...(database === undefined ? {} : { database }),
        connectTimeout: 15_000, requestTimeout: 0,
      },
    });
    connection.on("infoMessage", (info) => { if (info.number !== 5701 && info.number !== 5703) process.stdout.write(`${info.message}\n`); });
    connection.on("errorMessage", (error) => {
      process.stdout.write(`Msg ${error.number}, Level ${error.class}, State ${error.state}, `
        + `Server ${error.serverName}, Line ${error.lineNumber}\n${error.message}\n`);
    });
    connection.connect((error) => resolve(error ?? connection));
  });
}

/** Runs one batch; returns true if it raised an error (severity > 10). */
function runBatch(connection: Connection, sql: string): Promise<boolean> {
  return new Promise((resolve) => {
    let columns: ColumnMetaData[] = [];
    let rows: string[][] = [];
    const flush = (rowCount: number | undefined): void => {
      if (columns.length > 0) printTable(columns, rows);
      if (rowCount !== undefined) process.stdout.write(`(${rowCount} row${rowCount === 1 ? "" : "s"} affected)\n`);
      columns = [];
      rows = [];
    };
    const request = new Request(sql, (error) => resolve(error !== undefined && error !== null));
    request.on("columnMetadata", (metadata) => {
      columns = (Array.isArray(metadata) ? metadata : Object.values(metadata)) as ColumnMetaData[];
      rows = [];
    });
    request.on("row", (values) => {
      const list = Array.isArray(values) ? values : Object.values(values);
      rows.push(list.map((column: { value: unknown }) => display(column.value)));
    });
    request.on("done", (rowCount) => flush(rowCount));
    request.on("doneInProc", (rowCount) => flush(rowCount));
    connection.execSqlBatch(request);
  });
}

function display(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (Buffer.isBuffer(value)) return `0x${value.toString("hex").toUpperCase()}`;
  if (value instanceof Date) return value.toISOString().replace("T", " ").replace("Z", "");
  return String(value);
}

function printTable(columns: ColumnMetaData[], rows: string[][]): void {
  const widths = columns.map((column, i) =>
    Math.max(column.colName.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" ").trimEnd();
  process.stdout.write(`${line(columns.map((column) => column.colName))}\n`);
  process.stdout.write(`${widths.map((width) => "-".repeat(width)).join(" ")}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
  process.stdout.write("\n");
}
