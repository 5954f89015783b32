// Conversion of engine values (null, number, bigint, string, Buffer/Uint8Array; booleans are
// tolerated) to the primitive a result column of a given kind carries on the wire. SQLite is
// dynamically typed, so a value may not fit the column chosen for it; the conversion then fails
// the way SQL Server's implicit conversions fail (errors 241, 245, 257, 8114, 8115, 8152, 8169)
// so the runtime can report a normal SQL error instead of sending bytes a client would misread.
import { SqlError } from "../errors/sql_error.js";
import { encodeCp1252 } from "./codepage.js";
import {
  encodeDate, encodeDatetime, encodeDatetime2, encodeDatetimeOffset, encodeDecimal, encodeGuid,
  encodeTime, type Encoded,
} from "./column_encoders.js";
import type { ColumnKind, ColumnType } from "./types.js";

/** A value SQL Server would refuse to convert to its column's type: a catalog SqlError. */
export class ValueConversionError extends SqlError {}

/**
 * What row() writes for one non-null cell of each kind: number or bigint for the integer, bit
 * and float kinds, string for nvarchar kinds, and the value bytes (without their length prefix)
 * for every other kind: varbinary, varchar (CP1252), decimal, the date/time kinds, GUID.
 */
export type WireValue = number | bigint | string | Buffer;

const INT_RANGES = {
  tinyint: [0n, 255n],
  smallint: [-32768n, 32767n],
  int: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
} as const;

export type IntegerKind = keyof typeof INT_RANGES;
export const INTEGER_KINDS: readonly IntegerKind[] = ["tinyint", "smallint", "int", "bigint"];

/** Largest finite 4-byte float. */
export const REAL_MAX = 3.4028234663852886e38;

export function isBinary(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array; // Buffer is a Uint8Array
}

/** The same ranges as numbers; bigint's upper bound 2^63-1 rounds to 2^63, so it is exclusive. */
const NUMBER_RANGES: Readonly<Record<IntegerKind, readonly [number, number]>> = {
  tinyint: [0, 255],
  smallint: [-32768, 32767],
  int: [-2147483648, 2147483647],
  bigint: [-9223372036854775808, 9223372036854775807],
};

/** True when an integral number or bigint lies in the kind's range. */
export function fitsInteger(value: number | bigint, kind: IntegerKind): boolean {
  if (typeof value === "bigint") {
    const [low, high] = INT_RANGES[kind];
    return value >= low && value <= high;
  }
  const [low, high] = NUMBER_RANGES[kind];
  return value >= low && (kind === "bigint" ? value < high : value <= high);
}

/** Text as SQL Server would show the value in an nvarchar column. */
export function valueToText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (typeof value === "boolean") return value ? "1" : "0";
  if (isBinary(value)) return "0x" + Buffer.from(value).toString("hex").toUpperCase();
  return String(value);
}

/** SQL Server's name for the type a JS value came from, for error messages. */
function sourceTypeName(value: unknown): string {
  if (typeof value === "string") return "nvarchar";
  if (typeof value === "bigint") return "bigint";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (typeof value === "boolean") return "bit";
  if (isBinary(value)) return "varbinary";
  return "sql_variant";
}

export function kindTypeName(kind: ColumnKind): string {
  if (kind.endsWith("_max")) return `${kind.slice(0, -4)}(max)`;
  return kind;
}

function conversionFailed(value: unknown, kind: ColumnKind): ValueConversionError {
  const shown = valueToText(value).slice(0, 100);
  return new ValueConversionError("CONVERSION_FAILED", [sourceTypeName(value), shown, kindTypeName(kind)]);
}

function implicitNotAllowed(value: unknown, kind: ColumnKind): ValueConversionError {
  return new ValueConversionError("IMPLICIT_CONVERSION", [sourceTypeName(value), kindTypeName(kind)]);
}

function overflow(kind: ColumnKind): ValueConversionError {
  return new ValueConversionError("ARITHMETIC_OVERFLOW", [kindTypeName(kind)]);
}

function truncated(): ValueConversionError {
  return new ValueConversionError("STRING_TRUNCATED");
}

/**
 * The wire primitive for a non-null value in a column: number for tinyint/smallint/int/bit/real/
 * float, bigint for bigint, string for nvarchar kinds, Buffer for the others (see WireValue).
 * Throws ValueConversionError when SQL Server would refuse the implicit conversion.
 */
export function toWireValue(column: ColumnType, value: unknown): WireValue {
  switch (column.kind) {
    case "tinyint":
    case "smallint":
    case "int":
    case "bigint":
      return toInteger(value, column.kind);
    case "bit":
      return toBit(value);
    case "real":
    case "float":
      return toFloat(value, column.kind);
    case "nvarchar":
    case "nvarchar_max":
      return toText(value, column.kind === "nvarchar" ? column.maxChars ?? 4000 : Infinity);
    case "varbinary":
    case "varbinary_max":
      return toBinary(value, column.kind, column.kind === "varbinary" ? column.maxBytes ?? 8000 :
        Infinity);
    case "varchar":
    case "varchar_max":
      // SQL Server turns characters outside the code page into '?'; columnTypesFor widens such
      // columns to nvarchar, so only explicitly typed columns (output parameters) lose them.
      return encodeCp1252(toText(value, column.kind === "varchar" ? column.maxBytes ?? 8000 :
        Infinity));
    case "decimal":
      return checked(encodeDecimal(value, column.precision ?? 18, column.scale ?? 0), value,
        column);
    default:
      return checked(encodeParsed(column, value), value, column);
  }
}

function encodeParsed(column: ColumnType, value: unknown): Encoded {
  switch (column.kind) {
    case "date": return encodeDate(value);
    case "time": return encodeTime(value, column.scale ?? 7);
    case "datetime2": return encodeDatetime2(value, column.scale ?? 7);
    case "datetime": return encodeDatetime(value);
    case "datetimeoffset": return encodeDatetimeOffset(value, column.scale ?? 7);
    default: return encodeGuid(value);
  }
}

/** The encoder's bytes, or the error SQL Server gives for that conversion. */
function checked(encoded: Encoded, value: unknown, column: ColumnType): Buffer {
  if (typeof encoded !== "string") return encoded;
  const kind = column.kind;
  if (encoded === "overflow") {
    if (kind === "decimal") throw overflow(kind);
    throw new ValueConversionError("DATETIME_OUT_OF_RANGE", [sourceTypeName(value), kind]);
  }
  if (typeof value !== "string") {
    if (kind === "uniqueidentifier" && isBinary(value)) throw truncated(); // not 16 bytes
    if (kind === "decimal" && !isBinary(value)) throw conversionFailed(value, kind);
    throw new ValueConversionError("OPERAND_TYPE_CLASH", [sourceTypeName(value), kind]);
  }
  if (kind === "decimal") {
    throw new ValueConversionError("NUMERIC_CONVERSION_FAILED", ["nvarchar", "numeric"]);
  }
  if (kind === "uniqueidentifier") throw new ValueConversionError("GUID_CONVERSION_FAILED");
  throw new ValueConversionError("DATE_CONVERSION_FAILED");
}

const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;

function toInteger(value: unknown, kind: IntegerKind): number | bigint {
  let integral: number | bigint;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw overflow(kind);
    integral = Math.trunc(value) + 0; // SQL Server truncates toward zero; + 0 drops -0
  } else if (typeof value === "bigint") {
    integral = value;
  } else if (typeof value === "boolean") {
    integral = value ? 1 : 0;
  } else if (typeof value === "string" && INTEGER_TEXT.test(value)) {
    integral = BigInt(value.trim());
  } else if (isBinary(value)) {
    throw implicitNotAllowed(value, kind);
  } else {
    throw conversionFailed(value, kind);
  }
  if (!fitsInteger(integral, kind)) throw overflow(kind);
  if (kind === "bigint") return BigInt(integral);
  return Number(integral);
}

function toBit(value: unknown): number {
  if (typeof value === "number") return value === 0 ? 0 : 1;
  if (typeof value === "bigint") return value === 0n ? 0 : 1;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string") {
    const word = value.trim().toUpperCase();
    if (word === "TRUE") return 1;
    if (word === "FALSE") return 0;
    if (INTEGER_TEXT.test(value)) return BigInt(word) === 0n ? 0 : 1;
    throw conversionFailed(value, "bit");
  }
  if (isBinary(value)) throw implicitNotAllowed(value, "bit");
  throw conversionFailed(value, "bit");
}

function toFloat(value: unknown, kind: "real" | "float"): number {
  let result: number;
  if (typeof value === "number") result = value;
  else if (typeof value === "bigint") result = Number(value);
  else if (typeof value === "boolean") result = value ? 1 : 0;
  else if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) {
    result = Number(value);
  } else if (isBinary(value)) {
    throw implicitNotAllowed(value, kind);
  } else {
    throw conversionFailed(value, kind);
  }
  if (kind === "real" && Number.isFinite(result) && Math.abs(result) > REAL_MAX) {
    throw overflow(kind);
  }
  return result;
}

function toText(value: unknown, maxChars: number): string {
  const text = valueToText(value);
  if (text.length > maxChars) throw truncated();
  return text;
}

function toBinary(value: unknown, kind: ColumnKind, maxBytes: number): Buffer {
  let bytes: Buffer;
  if (isBinary(value)) {
    bytes = Buffer.isBuffer(value) ? value :
      Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  } else if (typeof value === "string") {
    bytes = Buffer.from(value, "utf16le"); // what CAST(N'…' AS varbinary) gives
  } else {
    throw implicitNotAllowed(value, kind);
  }
  if (bytes.length > maxBytes) throw truncated();
  return bytes;
}
