// RPC requests: the system procedures drivers call for parameterised and prepared statements
// (sp_executesql, sp_prepare, sp_execute, sp_prepexec, sp_unprepare). Each answers with its
// statements' results ending in DONEINPROC, then RETURNSTATUS, RETURNVALUEs for OUTPUT
// parameters, and DONEPROC (spec/tds.md §1.11).
import { SqlError } from "../errors/sql_error.js";
import { columnTypeForParameter, ProcId, type RpcParameter, type RpcRequest } from "../tds/rpc.js";
import { parseParameterDeclarations, type ParameterDeclaration } from "../tsql/declarations.js";
import { DoneChain } from "./done_chain.js";
import type { ResponseStream } from "./response.js";
import type { StatementParameters, TsqlSession } from "./tsql_session.js";

const PREPARED_HANDLES_MAX = 65_536;

interface PreparedStatement { readonly sql: string; readonly declarations: ParameterDeclaration[] }

/** A session's prepared statements (sp_prepare handles), bounded. */
export class PreparedStatements {
  private readonly statements = new Map<number, PreparedStatement>();
  private nextHandle = 1;

  add(statement: PreparedStatement): number {
    if (this.statements.size >= PREPARED_HANDLES_MAX) throw new SqlError("PREPARED_HANDLE_INVALID", ["(too many prepared statements)"]);
    const handle = this.nextHandle++;
    this.statements.set(handle, statement);
    return handle;
  }

  get(handle: unknown): PreparedStatement {
    const statement = this.statements.get(Number(handle));
    if (statement === undefined) throw new SqlError("PREPARED_HANDLE_INVALID", [String(handle)]);
    return statement;
  }

  remove(handle: unknown): void {
    this.get(handle);
    this.statements.delete(Number(handle));
  }

  clear(): void {
    this.statements.clear();
  }
}

interface Outcome { status: number | null; outputs: { ordinal: number; parameter: RpcParameter; value: unknown }[] }

/** Runs every RPC of one request message; each gets its own DONEPROC (MORE on all but the last). */
export async function runRpcRequests(session: TsqlSession, requests: readonly RpcRequest[],
  out: ResponseStream, attention: () => boolean): Promise<void> {
  for (const [index, request] of requests.entries()) {
    if (attention()) break;
    const done = new DoneChain(out.tokens, () => session.inTransaction, "rpc");
    let outcome: Outcome;
    try {
      outcome = await runProcedure(session, request, out, done, attention);
    } catch (error) {
      session.writeError(out.tokens, done, error, 1);
      outcome = { status: null, outputs: [] };
    }
    done.finishProcedure(() => {
      if (outcome.status === null) return;
      out.tokens.returnStatus(outcome.status);
      for (const { ordinal, parameter, value } of outcome.outputs) {
        const name = parameter.name === "" ? "@handle" : parameter.name;
        out.tokens.returnValue(ordinal, name, columnTypeForParameter(parameter.type, name), value);
      }
    }, index < requests.length - 1);
    await out.flush();
  }
}

async function runProcedure(session: TsqlSession, request: RpcRequest, out: ResponseStream,
  done: DoneChain, attention: () => boolean): Promise<Outcome> {
  const params = request.parameters;
  const run = (sql: string, declarations: ParameterDeclaration[], values: readonly RpcParameter[]) =>
    session.runText(sql, out, done, attention, bind(declarations, values, procedureName(request)));
  switch (procedureId(request)) {
    case ProcId.SP_EXECUTESQL: {
      const sql = String(required(request, params, 0, "@stmt"));
      const hasDeclaration = params.length > 1 && isDeclaration(params[1]!);
      const declarations = hasDeclaration ? parseParameterDeclarations(String(params[1]!.value ?? "")) : [];
      const first = hasDeclaration ? 2 : 1;
      await run(sql, declarations, params.slice(first));
      return { status: 0, outputs: echoedOutputs(params, first) };
    }
    case ProcId.SP_PREPARE: {
      const declarations = parseParameterDeclarations(String(params[1]?.value ?? ""));
      const handle = session.prepared.add({ sql: String(required(request, params, 2, "@stmt")), declarations });
      return { status: 0, outputs: [{ ordinal: 0, parameter: params[0]!, value: handle }] };
    }
    case ProcId.SP_EXECUTE: {
      const prepared = session.prepared.get(required(request, params, 0, "@handle"));
      await run(prepared.sql, prepared.declarations, params.slice(1));
      return { status: 0, outputs: echoedOutputs(params, 1) };
    }
    case ProcId.SP_PREPEXEC: {
      const declarations = parseParameterDeclarations(String(params[1]?.value ?? ""));
      const sql = String(required(request, params, 2, "@stmt"));
      const handle = session.prepared.add({ sql, declarations });
      await run(sql, declarations, params.slice(3));
      return { status: 0, outputs: [{ ordinal: 0, parameter: params[0]!, value: handle }, ...echoedOutputs(params, 3)] };
    }
    case ProcId.SP_UNPREPARE:
      session.prepared.remove(required(request, params, 0, "@handle"));
      return { status: 0, outputs: [] };
    default:
      throw new SqlError("PROCEDURE_NOT_FOUND", [procedureName(request)]);
  }
}

const PROCEDURES_BY_NAME: ReadonlyMap<string, number> = new Map([
  ["sp_executesql", ProcId.SP_EXECUTESQL], ["sp_prepare", ProcId.SP_PREPARE],
  ["sp_execute", ProcId.SP_EXECUTE], ["sp_prepexec", ProcId.SP_PREPEXEC], ["sp_unprepare", ProcId.SP_UNPREPARE],
]);

function procedureId(request: RpcRequest): number | null {
  if (request.procId !== null) return request.procId;
  const name = (request.procName ?? "").replace(/^(\[?(master|sys|dbo)\]?\.)+/i, "").replace(/^\[|\]$/g, "");
  return PROCEDURES_BY_NAME.get(name.toLowerCase()) ?? null;
}

function procedureName(request: RpcRequest): string {
  if (request.procName !== null) return request.procName;
  for (const [name, id] of PROCEDURES_BY_NAME) if (id === request.procId) return name;
  return `procedure ${request.procId}`;
}

function required(request: RpcRequest, params: readonly RpcParameter[], index: number, name: string): unknown {
  const parameter = params[index];
  if (parameter === undefined || parameter.defaultValue) {
    throw new SqlError("PROCEDURE_PARAMETER_MISSING", [procedureName(request), name]);
  }
  return parameter.value;
}

/** sp_executesql's second argument is the declaration when named @params, or unnamed and textual. */
function isDeclaration(parameter: RpcParameter): boolean {
  if (parameter.name !== "") return parameter.name.toLowerCase() === "@params";
  return typeof parameter.value === "string" || parameter.value === null;
}

/** Named values bind by name; unnamed ones by position in the declaration. */
function bind(declarations: readonly ParameterDeclaration[], values: readonly RpcParameter[],
  procedure: string): StatementParameters {
  const bound = new Map<string, unknown>();
  const declared = new Set(declarations.map((declaration) => declaration.name));
  values.forEach((parameter, position) => {
    const name = parameter.name !== "" ? parameter.name.toLowerCase() : declarations[position]?.name;
    if (name === undefined || !declared.has(name)) {
      throw new SqlError("PARAMETER_NOT_DECLARED", [parameter.name || `parameter ${position + 1}`, procedure]);
    }
    bound.set(name, parameter.defaultValue ? null : parameter.value);
  });
  for (const declaration of declarations) {
    if (!bound.has(declaration.name)) throw new SqlError("PROCEDURE_PARAMETER_MISSING", [procedure, declaration.name]);
  }
  return bound;
}

/**
 * OUTPUT parameters come back with the value they were sent with: statements run in SQLite's
 * dialect and cannot assign variables, so nothing can have changed them.
 */
function echoedOutputs(params: readonly RpcParameter[], from: number): Outcome["outputs"] {
  return params.slice(from).flatMap((parameter, i) =>
    parameter.output ? [{ ordinal: from + i, parameter, value: parameter.value }] : []);
}
