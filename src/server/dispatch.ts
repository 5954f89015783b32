// One logged-in request message → the session: SQL batch, RPC, or transaction manager request.
// A RESETCONNECTION flag resets the session first (its ENVCHANGE 18 leads the response).
import { SqlError } from "../errors/sql_error.js";
import { PacketType, ProtocolViolation, type IncomingMessage } from "../tds/packet.js";
import { parseSqlBatch, parseTransactionManagerRequest } from "../tds/requests.js";
import { parseRpcBatch } from "../tds/rpc.js";
import { DoneChain } from "./done_chain.js";
import type { ResponseStream } from "./response.js";
import { runRpcRequests } from "./rpc.js";
import type { TsqlSession } from "./tsql_session.js";

/** MS-TDS 2.2.6.9 request types. */
const TM = { BEGIN: 5, COMMIT: 7, ROLLBACK: 8, SAVE: 9 } as const;
const TM_BEGIN_AFTER = 0x01;

export async function dispatchRequest(session: TsqlSession, message: IncomingMessage,
  out: ResponseStream, attention: () => boolean): Promise<void> {
  if (message.resetConnection) await session.reset(out.tokens);
  try {
    switch (message.type) {
      case PacketType.SQL_BATCH:
        return await session.runBatch(parseSqlBatch(message.payload).sql, out, attention);
      case PacketType.RPC:
        return await runRpcRequests(session, parseRpcBatch(message.payload), out, attention);
      case PacketType.TRANSACTION_MANAGER:
        return await transactionManager(session, message.payload, out);
      default:
        throw new SqlError("UNSUPPORTED_KEYWORD", [`TDS request type 0x${message.type.toString(16)}`]);
    }
  } catch (error) {
    // The message's framing was sound (it arrived whole), so a bad payload costs only this
    // request: it is answered with SQL Server's error and the session goes on.
    if (!(error instanceof ProtocolViolation) && !(error instanceof SqlError)) throw error;
    const done = new DoneChain(out.tokens, () => session.inTransaction);
    session.writeError(out.tokens, done, error instanceof SqlError ? error : streamError(message.type, error), 1);
    done.finishBatch();
  }
}

function streamError(type: number, violation: ProtocolViolation): SqlError {
  return type === PacketType.RPC
    ? new SqlError("TDS_RPC_STREAM_INCORRECT", [violation.message])
    : new SqlError("TDS_STREAM_INCORRECT", [violation.message]);
}

/** tedious beginTransaction/commit/rollback/save and mssql's Transaction use these. */
async function transactionManager(session: TsqlSession, payload: Buffer, out: ResponseStream): Promise<void> {
  const request = parseTransactionManagerRequest(payload);
  const done = new DoneChain(out.tokens, () => session.inTransaction);
  const name = request.name === "" ? null : request.name;
  try {
    switch (request.requestType) {
      case TM.BEGIN:
        await session.beginTransaction(name, out.tokens, done);
        break;
      case TM.COMMIT:
        await session.commitTransaction(out.tokens, done);
        break;
      case TM.ROLLBACK:
        await session.rollbackTransaction(name, out.tokens, done);
        break;
      case TM.SAVE:
        await session.saveTransaction(request.name);
        break;
      default:
        throw new SqlError("TRANSACTION_MANAGER_REQUEST", [String(request.requestType)]);
    }
    if ((request.requestType === TM.COMMIT || request.requestType === TM.ROLLBACK)
      && (request.flags & TM_BEGIN_AFTER) !== 0 && request.beginAfter !== null) {
      await session.beginTransaction(request.beginAfter.name || null, out.tokens, done);
    }
  } catch (error) {
    session.writeError(out.tokens, done, error, 1);
  }
  done.finishBatch();
}
