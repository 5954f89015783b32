// PRINT and RAISERROR: messages to the client as INFO (severity ≤ 10) or ERROR tokens, with
// SQL Server's numbering (PRINT is message 0, RAISERROR with text is 50000) and its printf-like
// substitution (%d %i %u %s %x %X %o with width, precision and the - 0 + # flags).
import { SqlError } from "../errors/sql_error.js";
import type { Token } from "../tsql/lexer.js";
import type { Print, Raiserror } from "../tsql/statements.js";
import { DoneStatus, type TokenWriter } from "../tds/tokens.js";
import { bindings, rewriteForSession } from "./data_statement.js";
import type { DoneChain } from "./done_chain.js";
import type { StatementParameters, TsqlSession } from "./tsql_session.js";

const MESSAGE_CHARS_MAX = 2047;
const USER_MESSAGE_NUMBER = 50000;

export async function runPrint(session: TsqlSession, statement: Print, tokens: TokenWriter,
  done: DoneChain, parameters: StatementParameters): Promise<void> {
  const expression = rewriteForSession(session, statement.expression, parameters);
  const result = await session.storageSession().execute(`SELECT ${expression}`, bindings(parameters), { raw: true });
  const value = (result.rows as unknown[][] | null)?.[0]?.[0];
  done.release();
  tokens.info({ number: 0, state: 1, severity: 0, text: text(value).slice(0, 8000),
    serverName: session.instance.serverName, procName: "", line: statement.line });
}

export async function runRaiserror(session: TsqlSession, statement: Raiserror, tokens: TokenWriter,
  done: DoneChain, parameters: StatementParameters): Promise<void> {
  const value = (token: Token): unknown => argument(token, parameters);
  const severity = Number(value(statement.severity));
  const state = Math.max(0, Math.min(255, Number(value(statement.state))));
  if (!Number.isInteger(severity) || severity < 0 || severity > 25) throw new SqlError("RAISERROR_SEVERITY", [String(severity)]);
  if (severity > 18 && !statement.options.includes("LOG")) throw new SqlError("RAISERROR_NEEDS_LOG");
  const message = value(statement.message);
  if (typeof message !== "string") {
    // A message number needs sys.messages (sp_addmessage), which mirrorlite does not keep.
    throw new SqlError("RAISERROR_NO_MESSAGE", [String(message), String(severity), String(state)]);
  }
  const formatted = formatMessage(message, statement.args.map(value)).slice(0, MESSAGE_CHARS_MAX);
  const token = { number: USER_MESSAGE_NUMBER, state, severity, text: formatted,
    serverName: session.instance.serverName, procName: "", line: statement.line };
  done.release();
  if (severity <= 10) {
    tokens.info(token);
    return;
  }
  tokens.error(token);
  done.statementDone(DoneStatus.ERROR, 0, 0);
}

function argument(token: Token, parameters: StatementParameters): unknown {
  switch (token.kind) {
    case "number": return Number(token.text);
    case "string": case "nstring": return token.value;
    case "variable": {
      const name = token.text.toLowerCase();
      if (!parameters.has(name)) throw new SqlError("UNSUPPORTED_KEYWORD", [token.text]);
      return parameters.get(name);
    }
    default: throw new SqlError("SQL_SYNTAX_ERROR", [token.text]);
  }
}

function text(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Buffer.isBuffer(value)) return `0x${value.toString("hex").toUpperCase()}`;
  return String(value);
}

/** RAISERROR's substitution: % [flags] [width] [. precision] [h|l] type. */
export function formatMessage(template: string, args: readonly unknown[]): string {
  let next = 0;
  return template.replace(/%([-+0# ]*)(\d+|\*)?(?:\.(\d+|\*))?(?:h|l)?([diouxXs%])/g,
    (_match: string, flags: string, widthText: string | undefined, precisionText: string | undefined, type: string) => {
      if (type === "%") return "%";
      const width = widthText === "*" ? Number(args[next++]) : widthText === undefined ? 0 : Number(widthText);
      const precision = precisionText === "*" ? Number(args[next++]) : precisionText === undefined ? undefined : Number(precisionText);
      if (next >= args.length) return "(null)";
      const value = args[next++];
      let body: string;
      if (type === "s") body = precision === undefined ? text(value) : text(value).slice(0, precision);
      else body = formatNumber(Number(value), type, flags);
      if (body.length >= width) return body;
      if (flags.includes("-")) return body.padEnd(width);
      return flags.includes("0") && type !== "s" ? body.padStart(width, "0") : body.padStart(width);
    });
}

function formatNumber(value: number, type: string, flags: string): string {
  const integer = Math.trunc(Number.isFinite(value) ? value : 0);
  switch (type) {
    case "x": return (flags.includes("#") ? "0x" : "") + (integer >>> 0).toString(16);
    case "X": return (flags.includes("#") ? "0X" : "") + (integer >>> 0).toString(16).toUpperCase();
    case "o": return (flags.includes("#") ? "0" : "") + (integer >>> 0).toString(8);
    case "u": return String(integer >>> 0);
    default: return (flags.includes("+") && integer >= 0 ? "+" : "") + String(integer);
  }
}
