// Server response tokens (MS-TDS 2.2.7), little-endian except LOGINACK's TDS version. A
// TokenWriter accumulates one response payload; the runtime wraps it in TABULAR_RESULT packets
// (packet.ts) and may take() it in pieces between rows to bound memory. Layouts and client
// expectations: spec/tds.md §1.5–1.9. All strings are UTF-16LE; B_VARCHAR counts UTF-16 code
// units in a u8, US_VARCHAR in a u16.
import { assert } from "../util/assert.js";
import { ByteWriter } from "./byte_writer.js";
import { decimalBytes } from "./column_encoders.js";
import { TdsType } from "./type_info.js";
import type { ColumnKind, ColumnType } from "./types.js";
import { toWireValue, type WireValue } from "./values.js";

export const DoneStatus = {
  FINAL: 0,
  MORE: 0x01,
  ERROR: 0x02,
  INXACT: 0x04,
  COUNT: 0x10,
  ATTN: 0x20,
  SRVERROR: 0x100,
} as const;

export const EnvChange = {
  DATABASE: 1,
  LANGUAGE: 2,
  PACKET_SIZE: 4,
  COLLATION: 7,
  BEGIN_TRAN: 8,
  COMMIT_TRAN: 9,
  ROLLBACK_TRAN: 10,
  MIRROR_PARTNER: 13,
  RESET_ACK: 18,
  ROUTING: 20,
} as const;

/** SQL_Latin1_General_CP1_CI_AS: LCID 0x0409, flags 0xD0 (case/accent/kana/width), sort 0x34. */
export const COLLATION_LATIN1_CI_AS: Buffer = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);

const Token = {
  RETURNSTATUS: 0x79,
  COLMETADATA: 0x81,
  ERROR: 0xaa,
  INFO: 0xab,
  RETURNVALUE: 0xac,
  LOGINACK: 0xad,
  FEATUREEXTACK: 0xae,
  ROW: 0xd1,
  NBCROW: 0xd2,
  ENVCHANGE: 0xe3,
  DONE: 0xfd,
  DONEPROC: 0xfe,
  DONEINPROC: 0xff,
} as const;


const TDS_VERSION_74 = 0x74000004;
const INTERFACE_SQL_TSQL = 1;
const FEATURE_UTF8_SUPPORT = 0x0a;
const FEATURE_TERMINATOR = 0xff;
const COLUMN_NULLABLE = 0x0001;
/** SQL Server truncates column names to sysname (128); B_VARCHAR could hold 255. */
const COLUMN_NAME_CHARS_MAX = 128;
const B_VARCHAR_CHARS_MAX = 255;
/** Data per PLP chunk: an even byte count, so no chunk splits a UTF-16 code unit. */
const PLP_CHUNK_BYTES = 8000;
const PLP_NULL = 0xffffffffffffffffn;
const VARLEN_NULL = 0xffff;
const U16_MAX = 0xffff;

/** An INFO or ERROR message; fields as in the token (class = severity). */
export interface ServerMessage {
  readonly number: number;
  readonly state: number;
  readonly severity: number;
  readonly text: string;
  readonly serverName: string;
  readonly procName: string;
  readonly line: number;
}

/** Cuts to at most `max` UTF-16 units without leaving half a surrogate pair at the end. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Fixed-size INTN/FLTN widths by kind; BITN is 1. */
const FIXED_BYTES: Partial<Record<ColumnKind, number>> = {
  tinyint: 1, smallint: 2, int: 4, bigint: 8, bit: 1, real: 4, float: 8,
};

export class TokenWriter {
  private readonly out = new ByteWriter();

  get byteLength(): number {
    return this.out.byteLength;
  }

  /** The payload written so far; the writer starts empty again. */
  take(): Buffer {
    return this.out.take();
  }

  /** Tokens encoded elsewhere (a result set encoded on a reader thread), appended as they are. */
  encoded(tokens: Uint8Array): this {
    this.out.bytes(tokens);
    return this;
  }

  /** LOGINACK: interface SQL_TSQL, TDS 7.4; version is [major, minor, build, subbuild]. */
  loginAck(progName: string, version: readonly [number, number, number, number]): this {
    const [major, minor, build] = version;
    assert(build >= 0 && build <= U16_MAX, `build ${build} must fit in two bytes`);
    const name = clip(progName, B_VARCHAR_CHARS_MAX);
    const out = this.out;
    out.u8(Token.LOGINACK);
    out.u16(1 + 4 + 1 + name.length * 2 + 4);
    out.u8(INTERFACE_SQL_TSQL);
    out.u32be(TDS_VERSION_74); // big-endian here, unlike LOGIN7's little-endian version
    this.bVarchar(name);
    out.u8(major & 0xff);
    out.u8(minor & 0xff);
    out.u8(build >> 8); // the "build number" is two bytes: high, low
    out.u8(build & 0xff);
    return this;
  }

  /** ENVCHANGE with B_VARCHAR values: DATABASE, LANGUAGE, PACKET_SIZE, MIRROR_PARTNER. */
  envChangeString(type: number, newValue: string, oldValue: string): this {
    const next = clip(newValue, B_VARCHAR_CHARS_MAX);
    const previous = clip(oldValue, B_VARCHAR_CHARS_MAX);
    this.out.u8(Token.ENVCHANGE);
    this.out.u16(1 + 1 + next.length * 2 + 1 + previous.length * 2);
    this.out.u8(type);
    this.bVarchar(next);
    this.bVarchar(previous);
    return this;
  }

  /** ENVCHANGE with B_VARBYTE values: COLLATION, BEGIN/COMMIT/ROLLBACK_TRAN, RESET_ACK. */
  envChangeBytes(type: number, newValue: Buffer, oldValue: Buffer): this {
    assert(newValue.length <= 255 && oldValue.length <= 255, "B_VARBYTE holds at most 255");
    this.out.u8(Token.ENVCHANGE);
    this.out.u16(1 + 1 + newValue.length + 1 + oldValue.length);
    this.out.u8(type);
    this.out.u8(newValue.length);
    this.out.bytes(newValue);
    this.out.u8(oldValue.length);
    this.out.bytes(oldValue);
    return this;
  }

  /** ENVCHANGE 20: new = US_VARBYTE {protocol 0 (TCP), port u16, server US_VARCHAR}, old = 0. */
  envRouting(host: string, port: number): this {
    assert(Number.isInteger(port) && port > 0 && port <= U16_MAX, `port ${port} out of range`);
    const server = clip(host, B_VARCHAR_CHARS_MAX);
    const valueBytes = 1 + 2 + 2 + server.length * 2;
    this.out.u8(Token.ENVCHANGE);
    this.out.u16(1 + 2 + valueBytes + 2);
    this.out.u8(EnvChange.ROUTING);
    this.out.u16(valueBytes);
    this.out.u8(0);
    this.out.u16(port);
    this.out.u16(server.length);
    this.out.utf16(server);
    this.out.u16(0);
    return this;
  }

  /** INFO (0xAB): severity ≤ 10. */
  info(message: ServerMessage): this {
    return this.message(Token.INFO, message);
  }

  /** ERROR (0xAA): also set DoneStatus.ERROR on the DONE that ends the statement. */
  error(message: ServerMessage): this {
    return this.message(Token.ERROR, message);
  }

  private message(token: number, message: ServerMessage): this {
    const server = clip(message.serverName, B_VARCHAR_CHARS_MAX);
    const proc = clip(message.procName, B_VARCHAR_CHARS_MAX);
    const fixedBytes = 4 + 1 + 1 + 2 + 1 + server.length * 2 + 1 + proc.length * 2 + 4;
    // The token length is a u16: clip the text so the whole token still fits.
    const text = clip(message.text, Math.floor((U16_MAX - fixedBytes) / 2));
    this.out.u8(token);
    this.out.u16(fixedBytes + text.length * 2);
    this.out.i32(message.number);
    this.out.u8(message.state & 0xff);
    this.out.u8(message.severity & 0xff);
    this.out.u16(text.length);
    this.out.utf16(text);
    this.bVarchar(server);
    this.bVarchar(proc);
    this.out.u32(message.line >>> 0);
    return this;
  }

  /**
   * FEATUREEXTACK for UTF8_SUPPORT. Optional: tedious records a login error for an ack that has
   * neither UTF8_SUPPORT nor FEDAUTH, so never send an empty one. We send every string as
   * NVARCHAR, so the default answer is "not supported".
   */
  featureExtAckUtf8(supported = false): this {
    this.out.u8(Token.FEATUREEXTACK);
    this.out.u8(FEATURE_UTF8_SUPPORT);
    this.out.u32(1);
    this.out.u8(supported ? 1 : 0);
    this.out.u8(FEATURE_TERMINATOR);
    return this;
  }

  done(status: number, curCmd: number, rowCount: bigint | number): this {
    return this.doneToken(Token.DONE, status, curCmd, rowCount);
  }

  doneProc(status: number, curCmd: number, rowCount: bigint | number): this {
    return this.doneToken(Token.DONEPROC, status, curCmd, rowCount);
  }

  doneInProc(status: number, curCmd: number, rowCount: bigint | number): this {
    return this.doneToken(Token.DONEINPROC, status, curCmd, rowCount);
  }

  private doneToken(token: number, status: number, curCmd: number,
    rowCount: bigint | number): this {
    const count = BigInt(rowCount);
    assert(count >= 0n && count <= PLP_NULL, `row count ${count} out of range`);
    this.out.u8(token);
    this.out.u16(status);
    this.out.u16(curCmd);
    this.out.u64(count);
    return this;
  }

  /** RETURNSTATUS (0x79): the procedure's return code, sent before DONEPROC. */
  returnStatus(value: number): this {
    this.out.u8(Token.RETURNSTATUS);
    this.out.i32(value);
    return this;
  }

  /**
   * RETURNVALUE (0xAC) for an output parameter, e.g. sp_prepare's handle: tedious strips the
   * leading "@" and expects the name "handle". Throws ValueConversionError like row().
   */
  returnValue(ordinal: number, name: string, column: ColumnType, value: unknown): this {
    const wire = value === null || value === undefined ? null : toWireValue(column, value);
    this.out.u8(Token.RETURNVALUE);
    this.out.u16(ordinal);
    this.bVarchar(clip(name, B_VARCHAR_CHARS_MAX));
    this.out.u8(1); // status: output parameter
    this.out.u32(0); // UserType
    this.out.u16(column.nullable ? COLUMN_NULLABLE : 0);
    this.typeInfo(column);
    if (wire === null) this.nullValue(column.kind);
    else this.value(column, wire);
    return this;
  }

  /**
   * COLMETADATA (0x81) for 0..65534 columns; names are clipped to 128 UTF-16 units. Zero columns
   * is written as count 0, not as 0xFFFF ("no metadata"), which tedious would read as 65535.
   */
  colMetadata(columns: readonly ColumnType[]): this {
    assert(columns.length < U16_MAX, `column count ${columns.length} out of range`);
    this.out.u8(Token.COLMETADATA);
    this.out.u16(columns.length);
    for (const column of columns) {
      this.out.u32(0); // UserType
      this.out.u16(column.nullable ? COLUMN_NULLABLE : 0);
      this.typeInfo(column);
      this.bVarchar(clip(column.name, COLUMN_NAME_CHARS_MAX));
    }
    return this;
  }

  /** TYPE_INFO as SQL Server sends it for each kind (MS-TDS 2.2.5.6). */
  private typeInfo(column: ColumnType): void {
    const out = this.out;
    const fixed = FIXED_BYTES[column.kind];
    switch (column.kind) {
      case "tinyint": case "smallint": case "int": case "bigint":
        out.u8(TdsType.INTN);
        out.u8(fixed!);
        return;
      case "bit":
        out.u8(TdsType.BITN);
        out.u8(1);
        return;
      case "real": case "float":
        out.u8(TdsType.FLTN);
        out.u8(fixed!);
        return;
      case "decimal": {
        const precision = decimalPrecision(column);
        out.u8(TdsType.DECIMALN);
        out.u8(decimalBytes(precision));
        out.u8(precision);
        out.u8(decimalScale(column, precision));
        return;
      }
      case "date":
        out.u8(TdsType.DATEN);
        return;
      case "time": case "datetime2": case "datetimeoffset":
        out.u8(SCALED_TYPE[column.kind]);
        out.u8(timeScale(column));
        return;
      case "datetime":
        out.u8(TdsType.DATETIMN);
        out.u8(8);
        return;
      case "uniqueidentifier":
        out.u8(TdsType.GUID);
        out.u8(16);
        return;
      default:
        this.stringTypeInfo(column);
    }
  }

  private stringTypeInfo(column: ColumnType): void {
    const out = this.out;
    switch (column.kind) {
      case "nvarchar": case "nvarchar_max":
        out.u8(TdsType.NVARCHAR);
        out.u16(column.kind === "nvarchar" ? nvarcharChars(column) * 2 : U16_MAX);
        out.bytes(COLLATION_LATIN1_CI_AS);
        return;
      case "varchar": case "varchar_max":
        out.u8(TdsType.BIGVARCHR);
        out.u16(column.kind === "varchar" ? shortBytes(column, "varchar") : U16_MAX);
        out.bytes(COLLATION_LATIN1_CI_AS); // CP1252: what values.ts encodes varchar text in
        return;
      case "varbinary": case "varbinary_max":
        out.u8(TdsType.BIGVARBIN);
        out.u16(column.kind === "varbinary" ? shortBytes(column, "varbinary") : U16_MAX);
        return;
      default:
        assert(false, `no TYPE_INFO for ${column.kind}`);
    }
  }

  /**
   * One row: NBCROW (0xD2) when any value is null, else ROW (0xD1). Every value is converted
   * before anything is written, so a ValueConversionError leaves the writer unchanged.
   */
  row(columns: readonly ColumnType[], values: readonly unknown[]): this {
    assert(values.length === columns.length,
      `row has ${values.length} values for ${columns.length} columns`);
    const wire: (WireValue | null)[] = new Array<WireValue | null>(columns.length);
    let hasNull = false;
    for (let i = 0; i < columns.length; i++) {
      const value = values[i];
      if (value === null || value === undefined) {
        wire[i] = null;
        hasNull = true;
      } else {
        wire[i] = toWireValue(columns[i]!, value);
      }
    }
    if (hasNull) this.nullBitmap(wire);
    else this.out.u8(Token.ROW);
    for (let i = 0; i < columns.length; i++) {
      const cell = wire[i];
      if (cell !== null && cell !== undefined) this.value(columns[i]!, cell);
    }
    return this;
  }

  /** NBCROW token byte and bitmap: bit i set = column i is NULL (its value is then omitted). */
  private nullBitmap(wire: readonly (WireValue | null)[]): void {
    const bitmap = Buffer.alloc(Math.ceil(wire.length / 8));
    wire.forEach((cell, i) => {
      if (cell === null) bitmap[i >> 3] = bitmap[i >> 3]! | (1 << (i & 7));
    });
    this.out.u8(Token.NBCROW);
    this.out.bytes(bitmap);
  }

  private value(column: ColumnType, cell: WireValue): void {
    const out = this.out;
    switch (column.kind) {
      case "tinyint": out.u8(1); out.u8(cell as number); return;
      case "smallint": out.u8(2); out.u16((cell as number) & 0xffff); return;
      case "int": out.u8(4); out.i32(cell as number); return;
      case "bigint": out.u8(8); out.i64(cell as bigint); return;
      case "bit": out.u8(1); out.u8(cell as number); return;
      case "real": out.u8(4); out.f32(cell as number); return;
      case "float": out.u8(8); out.f64(cell as number); return;
      case "nvarchar": out.u16((cell as string).length * 2); out.utf16(cell as string); return;
      case "nvarchar_max": this.plpText(cell as string); return;
      case "varbinary": case "varchar":
        out.u16((cell as Buffer).length);
        out.bytes(cell as Buffer);
        return;
      case "varbinary_max": case "varchar_max": this.plpBytes(cell as Buffer); return;
      default: // decimal, date/time kinds, GUID: BYTELEN, the bytes values.ts encoded
        out.u8((cell as Buffer).length);
        out.bytes(cell as Buffer);
    }
  }

  private nullValue(kind: ColumnKind): void {
    if (kind.endsWith("_max")) this.out.u64(PLP_NULL);
    else if (kind === "nvarchar" || kind === "varbinary" || kind === "varchar") {
      this.out.u16(VARLEN_NULL);
    } else {
      this.out.u8(0);
    }
  }

  /** PLP: u64 total bytes, chunks of {u32 length, data}, then a zero-length terminator. */
  private plpText(text: string): void {
    this.out.u64(BigInt(text.length * 2));
    const chunkChars = PLP_CHUNK_BYTES / 2;
    for (let at = 0; at < text.length; at += chunkChars) {
      const piece = text.slice(at, at + chunkChars);
      this.out.u32(piece.length * 2);
      this.out.utf16(piece);
    }
    this.out.u32(0);
  }

  private plpBytes(data: Buffer): void {
    this.out.u64(BigInt(data.length));
    for (let at = 0; at < data.length; at += PLP_CHUNK_BYTES) {
      const piece = data.subarray(at, at + PLP_CHUNK_BYTES);
      this.out.u32(piece.length);
      this.out.bytes(piece);
    }
    this.out.u32(0);
  }

  private bVarchar(text: string): void {
    assert(text.length <= B_VARCHAR_CHARS_MAX, "B_VARCHAR holds at most 255 code units");
    this.out.u8(text.length);
    this.out.utf16(text);
  }
}

function nvarcharChars(column: ColumnType): number {
  const chars = column.maxChars ?? 4000;
  assert(Number.isInteger(chars) && chars >= 1 && chars <= 4000, `nvarchar(${chars})`);
  return chars;
}

function shortBytes(column: ColumnType, kind: string): number {
  const bytes = column.maxBytes ?? 8000;
  assert(Number.isInteger(bytes) && bytes >= 1 && bytes <= 8000, `${kind}(${bytes})`);
  return bytes;
}

function decimalPrecision(column: ColumnType): number {
  const precision = column.precision ?? 18;
  assert(Number.isInteger(precision) && precision >= 1 && precision <= 38,
    `decimal precision ${precision}`);
  return precision;
}

function decimalScale(column: ColumnType, precision: number): number {
  const scale = column.scale ?? 0;
  assert(Number.isInteger(scale) && scale >= 0 && scale <= precision, `decimal scale ${scale}`);
  return scale;
}

function timeScale(column: ColumnType): number {
  const scale = column.scale ?? 7;
  assert(Number.isInteger(scale) && scale >= 0 && scale <= 7, `${column.kind}(${scale})`);
  return scale;
}

const SCALED_TYPE = {
  time: TdsType.TIMEN, datetime2: TdsType.DATETIME2N, datetimeoffset: TdsType.DATETIMEOFFSETN,
} as const;

