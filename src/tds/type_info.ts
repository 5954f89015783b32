// TYPE_INFO (MS-TDS 2.2.5.6) and TYPE_VARBYTE values (2.2.5.2.3) as clients send them in RPC
// parameters: every length is checked before it is read, and every value is decoded to its
// canonical storage form (sql_values.ts). A malformed or impossible value is a
// ProtocolViolation: the message cannot be trusted past it, so the session ends.
import { collationCodePage, decodeText, type CodePage } from "./codepage.js";
import type { PayloadReader } from "./payload_reader.js";
import {
  DATETIME_DAYS_MIN, DAYS_1900, DAYS_MAX, OFFSET_MINUTES_MAX, TICKS_PER_SECOND, shiftDay,
  decimalText, formatDate, formatDateTime, formatOffset, formatTime, guidFromBytes,
} from "./sql_values.js";

/** TDS data type bytes (MS-TDS 2.2.5.4). */
export const TdsType = {
  IMAGE: 0x22, TEXT: 0x23, GUID: 0x24, INTN: 0x26, DATEN: 0x28, TIMEN: 0x29, DATETIME2N: 0x2a,
  DATETIMEOFFSETN: 0x2b, INT1: 0x30, BIT: 0x32, INT2: 0x34, INT4: 0x38, DATETIM4: 0x3a,
  FLT4: 0x3b, MONEY: 0x3c, DATETIME: 0x3d, FLT8: 0x3e, NTEXT: 0x63, BITN: 0x68, DECIMALN: 0x6a,
  NUMERICN: 0x6c, FLTN: 0x6d, MONEYN: 0x6e, DATETIMN: 0x6f, MONEY4: 0x7a, INT8: 0x7f,
  BIGVARBIN: 0xa5, BIGVARCHR: 0xa7, BIGBINARY: 0xad, BIGCHAR: 0xaf, NVARCHAR: 0xe7, NCHAR: 0xef,
  XML: 0xf1,
} as const;

/** How a value's bytes are interpreted. */
export type Family = "int" | "bit" | "float" | "money" | "decimal" | "datetime" | "date" |
  "time" | "datetime2" | "datetimeoffset" | "guid" | "char" | "nchar" | "binary" | "xml";

/** What precedes a value: nothing (fixed size), a u8/u16/u32 length, or PLP chunks. */
export type LengthPrefix = 0 | 1 | 2 | 4 | "plp";

/** A decoded TYPE_INFO. */
export interface TypeDescriptor {
  readonly id: number;
  readonly family: Family;
  /** The type as a T-SQL declaration: "int", "nvarchar(40)", "decimal(10, 2)", "ntext"… */
  readonly sqlType: string;
  readonly prefix: LengthPrefix;
  /** Value bytes of fixed and BYTELEN types; declared max bytes of strings (-1 = max, LOBs). */
  readonly size: number;
  readonly precision: number;
  /** decimal scale, or fraction digits of time/datetime2/datetimeoffset. */
  readonly scale: number;
  /** char family only. */
  readonly codePage: CodePage;
  /** TEXT/NTEXT/IMAGE: the legacy LOB types. */
  readonly legacyLob: boolean;
}

const MAX_MARKER = 0xffff;
const SHORT_LENGTH_MAX = 8000;
const COLLATION_BYTES = 5;
const DECIMAL_PRECISION_MAX = 38;
const TIME_SCALE_MAX = 7;

/** Fixed-size types: [family, value bytes]. */
const FIXED: Readonly<Record<number, readonly [Family, number]>> = {
  [TdsType.INT1]: ["int", 1], [TdsType.INT2]: ["int", 2], [TdsType.INT4]: ["int", 4],
  [TdsType.INT8]: ["int", 8], [TdsType.BIT]: ["bit", 1], [TdsType.FLT4]: ["float", 4],
  [TdsType.FLT8]: ["float", 8], [TdsType.MONEY4]: ["money", 4], [TdsType.MONEY]: ["money", 8],
  [TdsType.DATETIM4]: ["datetime", 4], [TdsType.DATETIME]: ["datetime", 8],
};

/** BYTELEN types with a size byte in TYPE_INFO: [family, allowed sizes]. */
const SIZED: Readonly<Record<number, readonly [Family, readonly number[]]>> = {
  [TdsType.INTN]: ["int", [1, 2, 4, 8]], [TdsType.BITN]: ["bit", [1]],
  [TdsType.FLTN]: ["float", [4, 8]], [TdsType.MONEYN]: ["money", [4, 8]],
  [TdsType.DATETIMN]: ["datetime", [4, 8]], [TdsType.GUID]: ["guid", [16]],
};

const SCALED: Readonly<Record<number, Family>> = {
  [TdsType.TIMEN]: "time", [TdsType.DATETIME2N]: "datetime2",
  [TdsType.DATETIMEOFFSETN]: "datetimeoffset",
};

/** Bytes of a time part with `scale` fraction digits (MS-TDS 2.2.5.5.1.8). */
export function timeBytes(scale: number): number {
  return scale <= 2 ? 3 : scale <= 4 ? 4 : 5;
}

function sizedName(family: Family, size: number): string {
  switch (family) {
    case "int": return ({ 1: "tinyint", 2: "smallint", 4: "int" } as Record<number, string>)[
      size] ?? "bigint";
    case "float": return size === 4 ? "real" : "float";
    case "money": return size === 4 ? "smallmoney" : "money";
    case "datetime": return size === 4 ? "smalldatetime" : "datetime";
    case "guid": return "uniqueidentifier";
    default: return family;
  }
}

function descriptor(id: number, family: Family, sqlType: string, prefix: LengthPrefix,
  size: number, extra: Partial<TypeDescriptor> = {}): TypeDescriptor {
  return { id, family, sqlType, prefix, size, precision: 0, scale: 0, codePage: "latin1",
    legacyLob: false, ...extra };
}

/** Reads one TYPE_INFO; throws ProtocolViolation for an unknown type or impossible metadata. */
export function readTypeInfo(reader: PayloadReader): TypeDescriptor {
  const id = reader.u8("TYPE_INFO type");
  const fixed = FIXED[id];
  if (fixed !== undefined) return descriptor(id, fixed[0], sizedName(...fixed), 0, fixed[1]);
  const sized = SIZED[id];
  if (sized !== undefined) {
    const size = reader.u8("TYPE_INFO length");
    if (!sized[1].includes(size)) reader.fail(`type 0x${hex(id)} with length ${size}`);
    return descriptor(id, sized[0], sizedName(sized[0], size), 1, size);
  }
  const scaled = SCALED[id];
  if (scaled !== undefined) {
    const scale = reader.u8("TYPE_INFO scale");
    if (scale > TIME_SCALE_MAX) reader.fail(`${scaled} scale ${scale} above 7`);
    const bytes = timeBytes(scale) + (scaled === "time" ? 0 : scaled === "datetime2" ? 3 : 5);
    return descriptor(id, scaled, `${scaled}(${scale})`, 1, bytes, { scale });
  }
  switch (id) {
    case TdsType.DATEN:
      return descriptor(id, "date", "date", 1, 3);
    case TdsType.DECIMALN:
    case TdsType.NUMERICN:
      return readDecimalInfo(reader, id);
    case TdsType.BIGVARCHR: case TdsType.BIGCHAR: case TdsType.NVARCHAR: case TdsType.NCHAR:
    case TdsType.BIGVARBIN: case TdsType.BIGBINARY:
      return readShortInfo(reader, id);
    case TdsType.TEXT: case TdsType.NTEXT: case TdsType.IMAGE:
      return readLobInfo(reader, id);
    case TdsType.XML:
      return readXmlInfo(reader);
    default:
      return reader.fail(`unsupported parameter type 0x${hex(id)}`);
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

/** DECIMALN/NUMERICN: size u8 (2..17: FreeTDS sends 1 + its per-precision byte count), p, s. */
function readDecimalInfo(reader: PayloadReader, id: number): TypeDescriptor {
  const size = reader.u8("TYPE_INFO length");
  const precision = reader.u8("TYPE_INFO precision");
  const scale = reader.u8("TYPE_INFO scale");
  if (size < 2 || size > 17) reader.fail(`decimal length ${size} outside 2..17`);
  if (precision < 1 || precision > DECIMAL_PRECISION_MAX || scale > precision) {
    reader.fail(`decimal(${precision}, ${scale}) is not a valid type`);
  }
  const name = id === TdsType.NUMERICN ? "numeric" : "decimal";
  return descriptor(id, "decimal", `${name}(${precision}, ${scale})`, 1, size,
    { precision, scale });
}

/** USHORTLEN types: max bytes u16 (0xFFFF = max, var types only), collation for text types. */
function readShortInfo(reader: PayloadReader, id: number): TypeDescriptor {
  const size = reader.u16le("TYPE_INFO max length");
  const variable = id === TdsType.BIGVARCHR || id === TdsType.NVARCHAR || id === TdsType.BIGVARBIN;
  const isMax = size === MAX_MARKER;
  if ((isMax && !variable) || (!isMax && size > SHORT_LENGTH_MAX)) {
    reader.fail(`type 0x${hex(id)} with max length ${size}`);
  }
  const unicode = id === TdsType.NVARCHAR || id === TdsType.NCHAR;
  const binary = id === TdsType.BIGVARBIN || id === TdsType.BIGBINARY;
  const codePage = binary ? "latin1" : collationCodePage(reader.bytes(COLLATION_BYTES,
    "TYPE_INFO collation"));
  const base = { [TdsType.BIGVARCHR]: "varchar", [TdsType.BIGCHAR]: "char",
    [TdsType.NVARCHAR]: "nvarchar", [TdsType.NCHAR]: "nchar", [TdsType.BIGVARBIN]: "varbinary",
    [TdsType.BIGBINARY]: "binary" }[id]!;
  const length = isMax ? "max" : String(Math.max(1, unicode ? Math.ceil(size / 2) : size));
  const family: Family = unicode ? "nchar" : binary ? "binary" : "char";
  return descriptor(id, family, `${base}(${length})`, isMax ? "plp" : 2, isMax ? -1 : size,
    { codePage });
}

/**
 * TEXT/NTEXT/IMAGE: max length u32 (tedious writes -1 or the value length), then a collation for
 * TEXT/NTEXT. Unlike COLMETADATA, a parameter's TYPE_INFO has no table name: tedious
 * (data-types/text.js) and FreeTDS (tds_generic_put_info) both send only these fields.
 */
function readLobInfo(reader: PayloadReader, id: number): TypeDescriptor {
  reader.u32le("TYPE_INFO max length");
  if (id === TdsType.IMAGE) {
    return descriptor(id, "binary", "image", 4, -1, { legacyLob: true });
  }
  const codePage = collationCodePage(reader.bytes(COLLATION_BYTES, "TYPE_INFO collation"));
  return id === TdsType.TEXT ?
    descriptor(id, "char", "text", 4, -1, { codePage, legacyLob: true }) :
    descriptor(id, "nchar", "ntext", 4, -1, { legacyLob: true });
}

/** XML: SCHEMA_PRESENT u8, then (if 1) db B_VARCHAR, schema B_VARCHAR, collection US_VARCHAR. */
function readXmlInfo(reader: PayloadReader): TypeDescriptor {
  const schemaPresent = reader.u8("XML schema present");
  if (schemaPresent > 1) reader.fail(`XML SCHEMA_PRESENT ${schemaPresent}`);
  if (schemaPresent === 1) {
    reader.bVarchar("XML schema database");
    reader.bVarchar("XML owning schema");
    const chars = reader.u16le("XML schema collection length");
    reader.utf16(chars * 2, "XML schema collection");
  }
  return descriptor(TdsType.XML, "xml", "xml", "plp", -1);
}

// ---- values ----

const PLP_UNKNOWN_HIGH = 0xffffffff;
const PLP_NULL_LOW = 0xffffffff;
const PLP_UNKNOWN_LOW = 0xfffffffe;
const LONG_NULL = 0xffffffff;

/** Reads one value of `type`: its canonical form (sql_values.ts), or null. */
export function readValue(reader: PayloadReader, type: TypeDescriptor): unknown {
  let bytes: Buffer | null;
  switch (type.prefix) {
    case 0: bytes = reader.bytes(type.size, "parameter value"); break;
    case 1: bytes = readByteLenValue(reader, type); break;
    case 2: {
      const length = reader.u16le("parameter value length");
      if (length !== MAX_MARKER && length > SHORT_LENGTH_MAX) {
        reader.fail(`value of ${length} bytes for a non-max type`);
      }
      bytes = length === MAX_MARKER ? null : reader.bytes(length, "parameter value");
      break;
    }
    case 4: {
      const length = reader.u32le("parameter value length");
      bytes = length === LONG_NULL ? null : reader.bytes(length, "parameter value");
      break;
    }
    case "plp": bytes = readPlp(reader); break;
  }
  return bytes === null ? null : decodeValue(reader, type, bytes);
}

function readByteLenValue(reader: PayloadReader, type: TypeDescriptor): Buffer | null {
  const length = reader.u8("parameter value length");
  if (length === 0) return null;
  const ok = type.family === "decimal" ? length >= 2 && length <= 17 : length === type.size;
  if (!ok) reader.fail(`${type.sqlType} value of ${length} bytes`);
  return reader.bytes(length, "parameter value");
}

/**
 * PLP (MS-TDS 2.2.5.2.3): u64 total (all ones = NULL, …FE = unknown), then chunks of u32 length
 * and data, ended by a zero length. A known total must equal the sum of the chunks.
 */
function readPlp(reader: PayloadReader): Buffer | null {
  const low = reader.u32le("PLP length");
  const high = reader.u32le("PLP length");
  if (high === PLP_UNKNOWN_HIGH && low === PLP_NULL_LOW) return null;
  const known = !(high === PLP_UNKNOWN_HIGH && low === PLP_UNKNOWN_LOW);
  const total = high * 2 ** 32 + low;
  if (known && total > reader.remaining) {
    reader.fail(`PLP length ${total} beyond the ${reader.remaining} bytes left`);
  }
  // Two passes: check the chunk chain and sum it, then copy once. Collecting a Buffer per chunk
  // would let a hostile message of 1-byte chunks cost far more memory than its own size.
  const start = reader.offset;
  let sum = 0;
  for (;;) {
    const length = reader.u32le("PLP chunk length");
    if (length === 0) break;
    reader.need(length, "PLP chunk");
    reader.offset += length;
    sum += length;
    if (known && sum > total) reader.fail(`PLP chunks exceed the announced ${total} bytes`);
  }
  if (known && sum !== total) reader.fail(`PLP chunks sum to ${sum}, announced ${total}`);
  const out = Buffer.allocUnsafe(sum);
  for (let at = start, filled = 0; filled < sum;) {
    const length = reader.data.readUInt32LE(at);
    reader.data.copy(out, filled, at + 4, at + 4 + length);
    filled += length;
    at += 4 + length;
  }
  return out;
}

function decodeValue(reader: PayloadReader, type: TypeDescriptor, bytes: Buffer): unknown {
  switch (type.family) {
    case "int": return decodeInt(bytes);
    case "bit": return bytes[0] === 0 ? 0 : 1;
    case "float": return decodeFloat(reader, bytes);
    case "money": return decodeMoney(bytes);
    case "decimal": return decodeDecimal(reader, type, bytes);
    case "datetime": return decodeDatetime(reader, bytes);
    case "date": return formatDate(readDays(reader, bytes, 0));
    case "time": return formatTime(readTime(reader, bytes, type.scale), type.scale);
    case "datetime2": return formatDateTime(readDays(reader, bytes, timeBytes(type.scale)),
      readTime(reader, bytes, type.scale), type.scale);
    case "datetimeoffset": return decodeDatetimeOffset(reader, type.scale, bytes);
    case "guid": return guidFromBytes(bytes);
    case "char": return decodeText(bytes, type.codePage);
    case "nchar": return decodeUtf16(reader, bytes);
    case "binary": return bytes;
    case "xml": return decodeUtf16(reader, bytes).replace(/^\ufeff/, "");
  }
}

function decodeInt(bytes: Buffer): number | bigint {
  switch (bytes.length) {
    case 1: return bytes[0]!; // tinyint is unsigned
    case 2: return bytes.readInt16LE(0);
    case 4: return bytes.readInt32LE(0);
    default: {
      const value = bytes.readBigInt64LE(0);
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ?
        Number(value) : value;
    }
  }
}

function decodeFloat(reader: PayloadReader, bytes: Buffer): number {
  const value = bytes.length === 4 ? bytes.readFloatLE(0) : bytes.readDoubleLE(0);
  if (!Number.isFinite(value)) reader.fail("float value is NaN or infinite");
  return value;
}

/** money: i64 of 1/10000 units sent as high i32 then low u32; smallmoney: i32. */
function decodeMoney(bytes: Buffer): number {
  const units = bytes.length === 4 ? BigInt(bytes.readInt32LE(0)) :
    (BigInt(bytes.readInt32LE(0)) << 32n) | BigInt(bytes.readUInt32LE(4));
  return Number(decimalText(units < 0n, units < 0n ? -units : units, 4));
}

/** Sign byte (1 = positive, 0 = negative), then the magnitude little-endian. */
function decodeDecimal(reader: PayloadReader, type: TypeDescriptor, bytes: Buffer): number {
  const sign = bytes[0]!;
  if (sign > 1) reader.fail(`decimal sign byte ${sign}`);
  let magnitude = 0n;
  for (let i = bytes.length - 1; i >= 1; i--) magnitude = (magnitude << 8n) | BigInt(bytes[i]!);
  if (magnitude >= 10n ** BigInt(type.precision)) {
    reader.fail(`decimal value has more than ${type.precision} digits`);
  }
  return Number(decimalText(sign === 0, magnitude, type.scale));
}

/** datetime: i32 days since 1900 + u32 1/300 s; smalldatetime: u16 days + u16 minutes. */
function decodeDatetime(reader: PayloadReader, bytes: Buffer): string {
  let days: number;
  let milliseconds: number;
  if (bytes.length === 4) {
    days = DAYS_1900 + bytes.readUInt16LE(0);
    const minutes = bytes.readUInt16LE(2);
    if (minutes >= 24 * 60) reader.fail(`smalldatetime minute ${minutes}`);
    milliseconds = minutes * 60_000;
  } else {
    days = DAYS_1900 + bytes.readInt32LE(0);
    const ticks = bytes.readUInt32LE(4);
    if (ticks >= 300 * 86_400) reader.fail(`datetime tick ${ticks}`);
    // SQL Server shows 1/300 s rounded to milliseconds: .003, .007, .010 …
    milliseconds = Math.round(ticks * 10 / 3);
  }
  if (days < DATETIME_DAYS_MIN || days > DAYS_MAX) reader.fail("datetime out of range");
  return formatDateTime(days, milliseconds * (TICKS_PER_SECOND / 1000), 3);
}

function readDays(reader: PayloadReader, bytes: Buffer, at: number): number {
  const days = bytes.readUIntLE(at, 3);
  if (days > DAYS_MAX) reader.fail(`date ${days} days after 0001-01-01 is past 9999-12-31`);
  return days;
}

/** The time part (units of 10^-scale s) as 100 ns ticks. */
function readTime(reader: PayloadReader, bytes: Buffer, scale: number): number {
  const units = bytes.readUIntLE(0, timeBytes(scale));
  if (units >= 86_400 * 10 ** scale) reader.fail(`time ${units} is past the end of a day`);
  return units * 10 ** (TIME_SCALE_MAX - scale);
}

/** Time and date are UTC on the wire; the canonical text shows local time and the offset. */
function decodeDatetimeOffset(reader: PayloadReader, scale: number, bytes: Buffer): string {
  const utcTicks = readTime(reader, bytes, scale);
  const utcDays = readDays(reader, bytes, timeBytes(scale));
  const offset = bytes.readInt16LE(timeBytes(scale) + 3);
  if (Math.abs(offset) > OFFSET_MINUTES_MAX) reader.fail(`offset ${offset} minutes`);
  const { days, ticks } = shiftDay(utcDays, utcTicks, offset * 60 * TICKS_PER_SECOND);
  if (days < 0 || days > DAYS_MAX) reader.fail("datetimeoffset local time out of range");
  return `${formatDateTime(days, ticks, scale)} ${formatOffset(offset)}`;
}

function decodeUtf16(reader: PayloadReader, bytes: Buffer): string {
  if (bytes.length % 2 !== 0) reader.fail(`UTF-16 value of odd length ${bytes.length}`);
  return bytes.toString("utf16le");
}
