// Client requests that carry ALL_HEADERS (MS-TDS 2.2.5.3): SQL batch (2.2.6.7) and Transaction
// Manager request (2.2.6.9). TDS 7.2+ clients always send ALL_HEADERS: TotalLength u32 (itself
// included), then headers {Length u32 (itself included), Type u16, data}; type 2 carries the
// client's current transaction descriptor (8 bytes) and its outstanding request count (u32).
import { ProtocolViolation } from "./packet.js";
import { PayloadReader } from "./payload_reader.js";

const HEADER_TRANSACTION_DESCRIPTOR = 2;
const TRANSACTION_DESCRIPTOR_BYTES = 8;

export interface AllHeaders {
  /** The descriptor from header type 2, or null when the client sent none. */
  readonly transactionDescriptor: Buffer | null;
  /** Offset of the first byte after ALL_HEADERS. */
  readonly end: number;
}

/** Parses ALL_HEADERS at the payload start; throws ProtocolViolation("all-headers"). */
export function parseAllHeaders(payload: Buffer): AllHeaders {
  const fail = (message: string): never => {
    throw new ProtocolViolation("all-headers", message);
  };
  if (payload.length < 4) fail(`payload of ${payload.length} bytes has no ALL_HEADERS`);
  const total = payload.readUInt32LE(0);
  if (total < 4 || total > payload.length) {
    fail(`TotalLength ${total} outside 4..${payload.length}`);
  }
  let transactionDescriptor: Buffer | null = null;
  for (let at = 4; at < total;) {
    if (at + 6 > total) fail(`header at ${at} truncated by TotalLength ${total}`);
    const length = payload.readUInt32LE(at);
    const type = payload.readUInt16LE(at + 4);
    if (length < 6 || length > total - at) fail(`header at ${at} has Length ${length}`);
    if (type === HEADER_TRANSACTION_DESCRIPTOR) {
      if (length < 6 + TRANSACTION_DESCRIPTOR_BYTES + 4) {
        fail(`transaction descriptor header has Length ${length}`);
      }
      transactionDescriptor = Buffer.from(payload.subarray(at + 6,
        at + 6 + TRANSACTION_DESCRIPTOR_BYTES));
    }
    at += length;
  }
  return { transactionDescriptor, end: total };
}

export interface SqlBatch {
  readonly transactionDescriptor: Buffer | null;
  readonly sql: string;
}

/** SQL batch: ALL_HEADERS, then the text in UTF-16LE (an odd byte count is a violation). */
export function parseSqlBatch(payload: Buffer): SqlBatch {
  const headers = parseAllHeaders(payload);
  const textBytes = payload.length - headers.end;
  if (textBytes % 2 !== 0) {
    throw new ProtocolViolation("sql-batch", `SQL text of ${textBytes} bytes is not UTF-16`);
  }
  return {
    transactionDescriptor: headers.transactionDescriptor,
    sql: payload.toString("utf16le", headers.end),
  };
}

export const TransactionRequest = {
  GET_DTC_ADDRESS: 0,
  PROPAGATE: 1,
  BEGIN: 5,
  PROMOTE: 6,
  COMMIT: 7,
  ROLLBACK: 8,
  SAVE: 9,
} as const;

/** fBeginXact in COMMIT/ROLLBACK flags: a new transaction starts right after. */
const FLAG_BEGIN_AFTER = 0x01;

export interface TransactionManagerRequest {
  readonly transactionDescriptor: Buffer | null;
  readonly requestType: number;
  /** BEGIN: 0 = unchanged, 1 = READ UNCOMMITTED … 4 = SERIALIZABLE, 5 = SNAPSHOT. */
  readonly isolationLevel: number;
  /** Transaction (BEGIN/COMMIT/ROLLBACK) or savepoint (SAVE, ROLLBACK TO) name; "" if none. */
  readonly name: string;
  readonly flags: number;
  /** COMMIT/ROLLBACK with fBeginXact: the transaction to begin afterwards. */
  readonly beginAfter: { readonly isolationLevel: number; readonly name: string } | null;
}

/**
 * Transaction Manager request: ALL_HEADERS, RequestType u16, then per type: BEGIN isolation u8 +
 * name; COMMIT/ROLLBACK name + flags u8 (+ isolation + name when fBeginXact); SAVE name.
 * A name is a u8 count of BYTES then UTF-16LE, not a B_VARCHAR's count of characters: tedious
 * (transaction.js, `name.length * 2`) and SqlClient both send a byte count, so reading it as
 * characters would overrun every named transaction. Other types (DTC) come back with only
 * requestType set. Trailing bytes are ignored.
 */
export function parseTransactionManagerRequest(payload: Buffer): TransactionManagerRequest {
  const headers = parseAllHeaders(payload);
  const reader = new PayloadReader(payload, "transaction-manager", headers.end);
  const requestType = reader.u16le("RequestType");
  const request = { transactionDescriptor: headers.transactionDescriptor, requestType,
    isolationLevel: 0, name: "", flags: 0, beginAfter: null };
  switch (requestType) {
    case TransactionRequest.BEGIN: {
      const isolationLevel = reader.u8("IsolationLevel");
      return { ...request, isolationLevel, name: reader.byteCountedUtf16("XactName") };
    }
    case TransactionRequest.COMMIT:
    case TransactionRequest.ROLLBACK: {
      const name = reader.byteCountedUtf16("XactName");
      const flags = reader.u8("Flags");
      if ((flags & FLAG_BEGIN_AFTER) === 0) return { ...request, name, flags };
      const isolationLevel = reader.u8("NewIsolationLevel");
      return { ...request, name, flags,
        beginAfter: { isolationLevel, name: reader.byteCountedUtf16("NewXactName") } };
    }
    case TransactionRequest.SAVE:
      return { ...request, name: reader.byteCountedUtf16("XactName") };
    default:
      return request;
  }
}
