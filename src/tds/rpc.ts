// RPC request (MS-TDS 2.2.6.6; spec/tds.md §1.11): ALL_HEADERS, then one or more RPCReqBatch
// separated by a batch flag. Each batch is NameLenProcID (u16 name length + UTF-16 name, or
// 0xFFFF + u16 ProcID), OptionFlags u16, then parameters until the end of the message or the next
// batch flag. A parameter is a B_VARCHAR name ("" for positional ones), StatusFlags u8 (0x01
// by-reference/output, 0x02 default value, 0x08 Always Encrypted: refused), TYPE_INFO and value.
// tedious sends one RPC per message; FreeTDS may batch several.
import { ProtocolViolation } from "./packet.js";
import { PayloadReader } from "./payload_reader.js";
import { parseAllHeaders, type AllHeaders } from "./requests.js";
import { readTypeInfo, readValue, type TypeDescriptor } from "./type_info.js";
import type { ColumnType } from "./types.js";

/** Well-known procedure ids (MS-TDS 2.2.6.6): sent as 0xFFFF + id instead of a name. */
export const ProcId = {
  SP_CURSOR: 1,
  SP_CURSOROPEN: 2,
  SP_CURSORPREPARE: 3,
  SP_CURSOREXECUTE: 4,
  SP_CURSORPREPEXEC: 5,
  SP_CURSORUNPREPARE: 6,
  SP_CURSORFETCH: 7,
  SP_CURSOROPTION: 8,
  SP_CURSORCLOSE: 9,
  SP_EXECUTESQL: 10,
  SP_PREPARE: 11,
  SP_EXECUTE: 12,
  SP_PREPEXEC: 13,
  SP_PREPEXECRPC: 14,
  SP_UNPREPARE: 15,
} as const;

/** OptionFlags bits. */
export const RpcOption = {
  WITH_RECOMPILE: 0x01,
  NO_METADATA: 0x02,
  REUSE_METADATA: 0x04,
} as const;

export interface ParameterType {
  /** T-SQL type text as in a declaration: "int", "nvarchar(4000)", "nvarchar(max)",
   * "decimal(10, 2)", "datetime2(7)", "varbinary(max)", "ntext"… */
  readonly sqlType: string;
  /** The raw TYPE_INFO bytes, so an output parameter can be echoed back
   * (columnTypeForParameter). */
  readonly typeInfo: Buffer;
}

export interface RpcParameter {
  /** "" for a positional parameter, else the name with its "@". */
  readonly name: string;
  /** StatusFlags 0x01 (fByRefValue): an OUTPUT parameter. */
  readonly output: boolean;
  /** StatusFlags 0x02 (fDefaultValue): use the procedure's default. */
  readonly defaultValue: boolean;
  readonly type: ParameterType;
  /** The canonical storage form (sql_values.ts), or null. */
  readonly value: unknown;
}

export interface RpcRequest {
  /** From ALL_HEADERS (the same for every RPC of one message). */
  readonly transactionDescriptor: Buffer | null;
  /** The procedure name when sent by name, else null. */
  readonly procName: string | null;
  /** The ProcID (see ProcId) when sent by id, else null. */
  readonly procId: number | null;
  readonly optionFlags: number;
  readonly parameters: RpcParameter[];
}

const PROC_ID_SWITCH = 0xffff;
const STATUS_BY_REF = 0x01;
const STATUS_DEFAULT = 0x02;
const STATUS_ENCRYPTED = 0x08;
/** Ends one RPC of a batch in TDS 7.2+ (BatchFlag), or ends it without running it (NoExecFlag). */
const BATCH_FLAG = 0xff;
const NO_EXEC_FLAG = 0xfe;
/** The BatchFlag before TDS 7.2; a parameter name of exactly 128 characters starts the same way. */
const LEGACY_BATCH_FLAG = 0x80;
/** A procedure name is at most a four-part name of sysnames (4 · 128 + 3 separators + quoting). */
const PROC_NAME_CHARS_MAX = 1046;
/**
 * SQL Server takes at most 2100 parameters per call (error 8003); sp_prepexec adds three of its
 * own. The caps bound the objects a hostile message of tiny parameters or RPCs can make.
 */
export const RPC_PARAMETERS_MAX = 2_110;
export const RPCS_PER_MESSAGE_MAX = 1_000;

export interface RpcParseOptions {
  /**
   * Also treat 0x80 as the separator between RPCs (TDS 7.0/7.1 clients). Off by default: in
   * TDS 7.2+ 0x80 is the length byte of a 128-character parameter name.
   */
  readonly legacyBatchFlag?: boolean;
}

/**
 * Parses an RPC message payload into its RPCs, in order. Throws ProtocolViolation("rpc") for a
 * malformed message (a length past the end, an unknown type, an impossible value such as a date
 * after 9999-12-31 or a DECIMALN with more digits than its precision) and past the caps above.
 * A NoExecFlag (0xFE) separator is treated like the BatchFlag: the RPC before it is returned
 * like any other. Values are copies: the result does not pin `payload`.
 */
export function parseRpcBatch(payload: Buffer, options: RpcParseOptions = {}): RpcRequest[] {
  const headers = readHeaders(payload);
  const reader = new PayloadReader(payload, "rpc", headers.end);
  const isSeparator = (byte: number): boolean => byte === BATCH_FLAG || byte === NO_EXEC_FLAG ||
    (options.legacyBatchFlag === true && byte === LEGACY_BATCH_FLAG);
  const requests: RpcRequest[] = [];
  do {
    if (requests.length === RPCS_PER_MESSAGE_MAX) {
      reader.fail(`more than ${RPCS_PER_MESSAGE_MAX} RPCs in one message`);
    }
    requests.push(readRpc(reader, headers.transactionDescriptor, isSeparator));
    if (reader.remaining > 0) reader.u8("batch flag"); // readRpc stopped at a separator
  } while (reader.remaining > 0);
  return requests;
}

/** ALL_HEADERS problems are reported with the "rpc" reason too. */
function readHeaders(payload: Buffer): AllHeaders {
  try {
    return parseAllHeaders(payload);
  } catch (error) {
    if (error instanceof ProtocolViolation) throw new ProtocolViolation("rpc", error.message);
    throw error;
  }
}

function readRpc(reader: PayloadReader, transactionDescriptor: Buffer | null,
  isSeparator: (byte: number) => boolean): RpcRequest {
  const nameLength = reader.u16le("NameLenProcID");
  let procName: string | null = null;
  let procId: number | null = null;
  if (nameLength === PROC_ID_SWITCH) {
    procId = reader.u16le("ProcID");
  } else {
    if (nameLength === 0 || nameLength > PROC_NAME_CHARS_MAX) {
      reader.fail(`procedure name of ${nameLength} characters`);
    }
    procName = reader.utf16(nameLength * 2, "ProcName");
  }
  const optionFlags = reader.u16le("OptionFlags");
  const parameters: RpcParameter[] = [];
  while (reader.remaining > 0 && !isSeparator(reader.data[reader.offset]!)) {
    if (parameters.length === RPC_PARAMETERS_MAX) {
      reader.fail(`more than ${RPC_PARAMETERS_MAX} parameters in one RPC`);
    }
    parameters.push(readParameter(reader, parameters.length));
  }
  return { transactionDescriptor, procName, procId, optionFlags, parameters };
}

function readParameter(reader: PayloadReader, ordinal: number): RpcParameter {
  const name = reader.bVarchar(`parameter ${ordinal} name`);
  const status = reader.u8(`parameter ${ordinal} status`);
  if ((status & STATUS_ENCRYPTED) !== 0) {
    reader.fail(`parameter ${ordinal} is Always Encrypted, which is not supported`);
  }
  const typeStart = reader.offset;
  const descriptor = readTypeInfo(reader);
  const typeInfo = Buffer.from(reader.data.subarray(typeStart, reader.offset));
  const value = readValue(reader, descriptor);
  return {
    name,
    output: (status & STATUS_BY_REF) !== 0,
    defaultValue: (status & STATUS_DEFAULT) !== 0,
    type: { sqlType: descriptor.sqlType, typeInfo },
    value,
  };
}

/**
 * The result column type that carries an output parameter's value back in RETURNVALUE: the
 * parameter's own type where a column kind exists, else the nearest one (money and smallmoney
 * as decimal(19, 4) / decimal(10, 4), smalldatetime as datetime, char/nchar/binary(n) as their
 * var forms, text/ntext/xml as varchar(max)/nvarchar(max), image as varbinary(max)). The value
 * passed to TokenWriter.returnValue is then the canonical form parseRpcBatch gave.
 */
export function columnTypeForParameter(type: ParameterType, name: string): ColumnType {
  const info = readTypeInfo(new PayloadReader(type.typeInfo, "rpc"));
  const base = { name, nullable: true } as const;
  switch (info.family) {
    case "int":
      return { ...base, kind: ({ 1: "tinyint", 2: "smallint", 4: "int" } as const)[
        info.size as 1 | 2 | 4] ?? "bigint" };
    case "bit": return { ...base, kind: "bit" };
    case "float": return { ...base, kind: info.size === 4 ? "real" : "float" };
    case "money":
      return { ...base, kind: "decimal", precision: info.size === 4 ? 10 : 19, scale: 4 };
    case "decimal":
      return { ...base, kind: "decimal", precision: info.precision, scale: info.scale };
    case "datetime": return { ...base, kind: "datetime" };
    case "date": return { ...base, kind: "date" };
    case "time": case "datetime2": case "datetimeoffset":
      return { ...base, kind: info.family, scale: info.scale };
    case "guid": return { ...base, kind: "uniqueidentifier" };
    default: return stringColumnType(base, info);
  }
}

function stringColumnType(base: { name: string; nullable: true },
  info: TypeDescriptor): ColumnType {
  const unbounded = info.size < 0;
  const bytes = Math.min(Math.max(1, info.size), 8000);
  switch (info.family) {
    case "char":
      return unbounded ? { ...base, kind: "varchar_max" } :
        { ...base, kind: "varchar", maxBytes: bytes };
    case "nchar":
      return unbounded ? { ...base, kind: "nvarchar_max" } :
        { ...base, kind: "nvarchar", maxChars: Math.min(Math.ceil(bytes / 2), 4000) };
    case "binary":
      return unbounded ? { ...base, kind: "varbinary_max" } :
        { ...base, kind: "varbinary", maxBytes: bytes };
    default:
      return { ...base, kind: "nvarchar_max" };
  }
}
