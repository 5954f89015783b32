// ALTER DATABASE … SET PARTNER / SET WITNESS (spec/mirroring.md §3.10, §2.10): turns the
// AlterDatabaseOther statement the batch parser delimited into a typed mirroring command.
// Pure: it reads tokens and throws SqlErrors.
//
// Errors:
// - malformed syntax, a missing or extra word, a TIMEOUT that is not an int literal, and any
//   WITH termination clause (SQL Server refuses WITH NO_WAIT / ROLLBACK … with mirroring
//   options): 102/156 near the token (a statement cut short: near its last word);
// - a variable where the address or TIMEOUT value goes, and every other SET option: 40517.
// An address that is not 'TCP://host:port' is not a syntax error: SQL Server raises 1449 when
// it runs the statement, so the command carries `addressProblem` for the executor to report.

import { tokenize, significantTokens, type Token } from "./lexer.js";
import { Cursor, tokenError } from "./cursor.js";
import { unsupported } from "./errors.js";
import type { AlterDatabaseOther } from "./statements.js";
import { parseEndpointAddress } from "../endpoint/address.js";

export type MirroringCommand =
  /** SET PARTNER = 'TCP://host:port'. addressProblem is null for a valid address. */
  | { kind: "setPartner"; database: string | null; address: string; addressProblem: string | null; line: number }
  | { kind: "partnerFailover"; database: string | null; line: number }
  /** SET PARTNER FORCE_SERVICE_ALLOW_DATA_LOSS. */
  | { kind: "partnerForceService"; database: string | null; line: number }
  | { kind: "partnerOff"; database: string | null; line: number }
  | { kind: "partnerResume"; database: string | null; line: number }
  | { kind: "partnerSuspend"; database: string | null; line: number }
  | { kind: "partnerSafety"; database: string | null; level: "FULL" | "OFF"; line: number }
  /** SET PARTNER TIMEOUT n: 0..2147483647 as written (the executor applies 1476 and the 5 s floor). */
  | { kind: "partnerTimeout"; database: string | null; seconds: number; line: number }
  /** SET WITNESS = 'TCP://host:port'. addressProblem is null for a valid address. */
  | { kind: "setWitness"; database: string | null; address: string; addressProblem: string | null; line: number }
  | { kind: "witnessOff"; database: string | null; line: number };

export type MirroringCommandKind = MirroringCommand["kind"];

/**
 * Why `address` is not a server network address 'TCP://host:port' (§6.5), or null when it
 * is one. The executor reports a non-null answer as SQL Server's 1449 ("ALTER DATABASE
 * command failed due to an invalid server connection string.").
 */
export function partnerAddressProblem(address: string): string | null {
  const parsed = parseEndpointAddress(address);
  return parsed.ok ? null : parsed.reason;
}

/** Parses SET PARTNER … / SET WITNESS …; any other option is refused with 40517. */
export function parseMirroringOption(statement: AlterDatabaseOther): MirroringCommand {
  const { option, line } = statement;
  const database = statement.name;
  if (option !== "PARTNER" && option !== "WITNESS") {
    throw unsupported(`ALTER DATABASE SET ${option}`, line);
  }
  if (statement.tokens.length === 0) throw tokenError(optionToken(statement));
  const cursor = new Cursor(statement.tokens);
  const command = option === "PARTNER" ? readPartner(cursor, database, line) : readWitness(cursor, database, line);
  // One option per statement, and no termination clause: whatever follows is an error.
  const extra = cursor.peek();
  if (extra !== undefined) throw tokenError(extra);
  return command;
}

function readPartner(cursor: Cursor, database: string | null, line: number): MirroringCommand {
  if (cursor.acceptOp("=")) {
    const address = readAddress(cursor);
    return { kind: "setPartner", database, address, addressProblem: partnerAddressProblem(address), line };
  }
  const word = cursor.expectWord(
    "FAILOVER", "FORCE_SERVICE_ALLOW_DATA_LOSS", "OFF", "RESUME", "SUSPEND", "SAFETY", "TIMEOUT");
  switch (word) {
    case "FAILOVER": return { kind: "partnerFailover", database, line };
    case "FORCE_SERVICE_ALLOW_DATA_LOSS": return { kind: "partnerForceService", database, line };
    case "OFF": return { kind: "partnerOff", database, line };
    case "RESUME": return { kind: "partnerResume", database, line };
    case "SUSPEND": return { kind: "partnerSuspend", database, line };
    case "SAFETY": {
      const level = cursor.expectWord("FULL", "OFF") as "FULL" | "OFF";
      return { kind: "partnerSafety", database, level, line };
    }
    default:
      return { kind: "partnerTimeout", database, seconds: readInteger(cursor), line };
  }
}

function readWitness(cursor: Cursor, database: string | null, line: number): MirroringCommand {
  if (cursor.acceptOp("=")) {
    const address = readAddress(cursor);
    return { kind: "setWitness", database, address, addressProblem: partnerAddressProblem(address), line };
  }
  cursor.expectWord("OFF");
  return { kind: "witnessOff", database, line };
}

/** 'text' or N'text'. */
function readAddress(cursor: Cursor): string {
  const token = cursor.next();
  if (token.kind === "variable") throw unsupported(token.text, token.line);
  if (token.kind !== "string" && token.kind !== "nstring") throw tokenError(token);
  return token.value;
}

/** An unsigned int literal (0..2147483647); a sign, a fraction or overflow is a syntax error. */
function readInteger(cursor: Cursor): number {
  const token = cursor.next();
  if (token.kind === "variable") throw unsupported(token.text, token.line);
  const value = token.kind === "number" && /^\d+$/.test(token.text) ? Number(token.text) : NaN;
  if (!(value >= 0 && value <= 2147483647)) throw tokenError(token);
  return value;
}

/**
 * The PARTNER/WITNESS word itself, for "Incorrect syntax near 'PARTNER'" when nothing follows
 * it: the statement's last significant token, with its line made batch-relative.
 */
function optionToken(statement: AlterDatabaseOther): Token {
  const { tokens } = significantTokens(tokenize(statement.text));
  const last = tokens[tokens.length - 1];
  if (last === undefined) return { kind: "word", text: statement.option, value: statement.option, start: 0, end: 0, line: statement.line };
  return { ...last, line: statement.line + last.line - 1 };
}
