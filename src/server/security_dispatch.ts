// Runs the security admin statements (logins, users, keys, certificates, endpoints, endpoint
// permissions) for a session. None of them may run inside a user transaction.
import { SqlError } from "../errors/sql_error.js";
import { DoneStatus } from "../tds/tokens.js";
import { parseSecurityStatement } from "../tsql/security_statements.js";
import type { AdminStatement } from "../tsql/statements.js";
import { alterEndpoint, createEndpoint, dropEndpoint, endpointPermission } from "./endpoint_commands.js";
import type { ResponseStream } from "./response.js";
import {
  alterLogin, alterUser, backupCertificate, createCertificate, createLogin, createMasterKeyCommand,
  createUser, dropCertificate, dropLogin, dropMasterKey, dropUser,
} from "./security_commands.js";
import type { DoneChain, TsqlSession } from "./tsql_session.js";
import { requireSysadmin } from "./security_commands.js";

export async function runSecurityStatement(session: TsqlSession, statement: AdminStatement,
  _out: ResponseStream, done: DoneChain): Promise<void> {
  if (session.inTransaction) throw new SqlError("NOT_IN_TRANSACTION", [statement.verb]);
  if (statement.verb === "ALTER SERVER ROLE") {
    alterServerRole(session, statement);
    done.statementDone(DoneStatus.FINAL, 0, 0);
    return;
  }
  const command = parseSecurityStatement(statement);
  switch (command.kind) {
    case "createLogin": await createLogin(session, command); break;
    case "alterLogin": await alterLogin(session, command); break;
    case "dropLogin": await dropLogin(session, command); break;
    case "createUser": await createUser(session, command); break;
    case "alterUser": await alterUser(session, command); break;
    case "dropUser": await dropUser(session, command); break;
    case "createMasterKey": await createMasterKeyCommand(session, command); break;
    case "dropMasterKey": dropMasterKey(session); break;
    case "createCertificate": await createCertificate(session, command); break;
    case "dropCertificate": await dropCertificate(session, command); break;
    case "backupCertificate": await backupCertificate(session, command); break;
    case "createEndpoint": await createEndpoint(session, command); break;
    case "alterEndpoint": await alterEndpoint(session, command); break;
    case "dropEndpoint": await dropEndpoint(session, command); break;
    case "endpointPermission": endpointPermission(session, command); break;
  }
  done.statementDone(DoneStatus.FINAL, 0, 0);
}

/**
 * EXEC sp_mirrorlite_endpoint_check [@address =] N'TCP://host:port' [, [@pings =] n]
 * [, [@messages =] n]: one row per step of connecting to that endpoint (step, ok, detail).
 */
export async function runEndpointCheck(session: TsqlSession, statement: AdminStatement,
  out: ResponseStream, done: DoneChain): Promise<void> {
  requireSysadmin(session);
  const values = procedureArguments(statement);
  const address = values.get("address") ?? values.get("0");
  if (typeof address !== "string") throw new SqlError("PROCEDURE_PARAMETER_MISSING", ["sp_mirrorlite_endpoint_check", "@address"]);
  const count = (name: string, position: string, fallback: number): number => {
    const value = values.get(name) ?? values.get(position);
    return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 1000 ? value : fallback;
  };
  const steps = await session.instance.mirroringEndpoint.check(address,
    { pings: count("pings", "1", 3), messages: count("messages", "2", 3), timeoutMs: 10_000 });
  const result = await session.storageSession().executeCatalog('SELECT * FROM "endpoint_check"', [], [{
    name: "endpoint_check", columns: "step NVARCHAR(40), ok BIT, detail NVARCHAR(4000)",
    rows: steps.map((step) => [step.step, step.ok ? 1 : 0, step.detail]),
  }], { encode: true });
  done.release();
  out.tokens.encoded(result.encoded!);
  done.statementDone(DoneStatus.COUNT, 0xc1, result.rowCount ?? 0);
}

/** Positional ("0", "1" …) and named (@name =) arguments: strings and integers only. */
function procedureArguments(statement: AdminStatement): Map<string, string | number> {
  const tokens = statement.tokens;
  const values = new Map<string, string | number>();
  let at = tokens.findIndex((token) => token.value.toLowerCase() === "sp_mirrorlite_endpoint_check") + 1;
  let position = 0;
  while (at < tokens.length) {
    let name = String(position);
    if (tokens[at]!.kind === "variable" && tokens[at + 1]?.text === "=") {
      name = tokens[at]!.text.slice(1).toLowerCase();
      at += 2;
    }
    const token = tokens[at];
    if (token === undefined) break;
    if (token.kind === "string" || token.kind === "nstring") values.set(name, token.value);
    else if (token.kind === "number") values.set(name, Number(token.text));
    else throw new SqlError("SYNTAX_ERROR", [token.text]);
    position++;
    at++;
    if (tokens[at]?.text === ",") at++;
  }
  return values;
}

/**
 * ALTER SERVER ROLE sysadmin { ADD | DROP } MEMBER login: the one fixed server role mirrorlite
 * models besides public. sa stays a member (SQL Server refuses to drop it too).
 */
function alterServerRole(session: TsqlSession, statement: AdminStatement): void {
  requireSysadmin(session);
  const words = statement.tokens.slice(3).map((token) => token.kind === "quoted" ? token.value : token.text);
  const [role, action, member, login, ...rest] = words;
  if (role === undefined || action === undefined || member?.toUpperCase() !== "MEMBER" || login === undefined
    || rest.length > 0 || !["ADD", "DROP"].includes(action.toUpperCase())) {
    const near = statement.tokens[statement.tokens.length - 1]!;
    throw new SqlError("SYNTAX_ERROR", [near.text]);
  }
  if (role.toLowerCase() !== "sysadmin") throw new SqlError("UNSUPPORTED_KEYWORD", [`ALTER SERVER ROLE ${role}`]);
  const catalog = session.instance.catalog;
  const entry = catalog.login(login);
  if (entry === undefined) throw new SqlError("GRANT_TARGET_MISSING", [login]);
  if (entry.sid === "01" && action.toUpperCase() === "DROP") throw new SqlError("NO_PERMISSION");
  catalog.replaceLogin(entry.name, { ...entry, sysadmin: action.toUpperCase() === "ADD" });
}
