// One logged-in request message → the session: SQL batch, RPC, or transaction manager request.
// A RESETCONNECTION flag resets the session first (its ENVCHANGE 18 leads the response).
import { SqlError } from "../errors/sql_error.js";
import { PacketType, type IncomingMessage } from "../tds/packet.js";
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
  switch (message.type) {
    case PacketType.SQL_BATCH:
      return session.runBatch(parseSqlBatch(message.payload).sql, out, attention);
    case PacketType.RPC:
      return runRpcRequests(session, parseRpcBatch(message.payload), out, attention);
    case PacketType.TRANSACTION_MANAGER:
      return transactionManager(session, message.payload, out);
    default: {
      const done = new DoneChain(out.tokens, () => session.inTransaction);
      session.writeError(out.tokens, done, new SqlError("UNSUPPORTED_KEYWORD", [`TDS request type 0x${message.type.toString(16)}`]), 1);
      done.finishBatch();
    }
  }
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
