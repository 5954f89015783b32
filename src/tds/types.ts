// Result column types. SQLite keeps the T-SQL type text the user declared, but stores values
// dynamically (an INT column may hold text, a DATE column 'tomorrow'), so a column's TDS type
// starts from the declared type and is then widened until every value actually present converts
// without loss: integers to wider integers or float, decimals to more precision or float,
// varchar to nvarchar when a value leaves code page 1252, and anything that does not parse as
// its declared type to nvarchar. Canonical value forms: sql_values.ts.
import { isCp1252 } from "./codepage.js";
import { digitCount, scaleDecimal } from "./sql_values.js";
import {
  INTEGER_KINDS, REAL_MAX, fitsInteger, isBinary, toWireValue, valueToText, type IntegerKind,
} from "./values.js";

export type ColumnKind = "tinyint" | "smallint" | "int" | "bigint" | "bit" | "real" | "float" |
  "decimal" | "date" | "time" | "datetime2" | "datetime" | "datetimeoffset" |
  "uniqueidentifier" | "varchar" | "varchar_max" | "nvarchar" | "nvarchar_max" | "varbinary" |
  "varbinary_max";

export interface ColumnType {
  readonly name: string;
  readonly kind: ColumnKind;
  /** nvarchar only: 1..4000 UTF-16 code units. */
  readonly maxChars?: number;
  /** varbinary and varchar only: 1..8000 bytes (a varchar byte is a CP1252 character). */
  readonly maxBytes?: number;
  /** decimal only: 1..38 (default 18). */
  readonly precision?: number;
  /** decimal: 0..precision (default 0); time, datetime2, datetimeoffset: 0..7 (default 7). */
  readonly scale?: number;
  readonly nullable: boolean;
}

export const NVARCHAR_CHARS_MAX = 4000;
export const VARBINARY_BYTES_MAX = 8000;
export const VARCHAR_BYTES_MAX = 8000;
export const DECIMAL_PRECISION_MAX = 38;

/**
 * Where the declared type leaves the choice: a concrete kind (with a length for the string and
 * binary kinds, precision and scale for decimal, scale for the time kinds), or "infer" (no
 * declared type, or a type with no TDS kind here): decided by the values, with `fallback` when
 * every value is NULL.
 */
type Shape = {
  readonly kind: ColumnKind; readonly length?: number; readonly precision?: number;
  readonly scale?: number;
};
type Declared = Shape | { readonly kind: "infer"; readonly fallback: ColumnKind };

const NAMED: Readonly<Record<string, Shape>> = {
  INT: { kind: "int" }, INTEGER: { kind: "int" }, BIGINT: { kind: "bigint" },
  SMALLINT: { kind: "smallint" }, TINYINT: { kind: "tinyint" },
  BIT: { kind: "bit" }, BOOLEAN: { kind: "bit" }, BOOL: { kind: "bit" },
  REAL: { kind: "real" }, FLOAT: { kind: "float" }, DOUBLE: { kind: "float" },
  "DOUBLE PRECISION": { kind: "float" },
  MONEY: { kind: "decimal", precision: 19, scale: 4 },
  SMALLMONEY: { kind: "decimal", precision: 10, scale: 4 },
  DATE: { kind: "date" }, DATETIME: { kind: "datetime" }, SMALLDATETIME: { kind: "datetime" },
  UNIQUEIDENTIFIER: { kind: "uniqueidentifier" },
  TEXT: { kind: "nvarchar_max" }, NTEXT: { kind: "nvarchar_max" },
  CLOB: { kind: "nvarchar_max" }, XML: { kind: "nvarchar_max" },
  SYSNAME: { kind: "nvarchar", length: 128 },
  BLOB: { kind: "varbinary_max" }, IMAGE: { kind: "varbinary_max" },
  ROWVERSION: { kind: "varbinary", length: 8 },
};

const DECIMAL_TYPES = new Set(["DECIMAL", "NUMERIC", "DEC"]);
/** Time types with a fraction-digits argument (default 7). */
const SCALED_TYPES: Readonly<Record<string, ColumnKind>> = {
  TIME: "time", DATETIME2: "datetime2", DATETIMEOFFSET: "datetimeoffset",
};
/** Character types that take a length; without one we pick the largest (SQLite enforces none). */
const VARCHAR_TYPES = new Set(["CHAR", "VARCHAR", "CHARACTER", "CHARACTER VARYING",
  "CHAR VARYING", "VARYING CHARACTER", "NATIVE CHARACTER"]);
const NVARCHAR_TYPES = new Set(["NCHAR", "NVARCHAR", "NATIONAL CHARACTER", "NATIONAL CHAR",
  "NATIONAL CHARACTER VARYING", "NATIONAL CHAR VARYING"]);
const BINARY_TYPES = new Set(["BINARY", "VARBINARY", "BINARY VARYING"]);
/** T-SQL types with no TDS kind here, sent as text: SQLite holds their values as strings. */
const TEXT_TYPES = new Set(["SQL_VARIANT", "HIERARCHYID"]);

/** Parses SQLite's declared type text ("NVARCHAR(50)", "decimal(10, 2)", null…). */
export function declaredType(type: string | null): Declared {
  if (type === null) return { kind: "infer", fallback: "int" };
  const match = /^([^(]*?)\s*(?:\(([^)]*)\))?\s*$/.exec(type.replace(/[[\]"`]/g, ""));
  const name = (match?.[1] ?? type).trim().toUpperCase().replace(/\s+/g, " ");
  const args = match?.[2]?.split(",").map((arg) => arg.trim().toUpperCase()) ?? [];
  const numbers = args.map((arg) => (arg === "MAX" ? Infinity : Number(arg)));
  const length = numbers[0] ?? null;
  if (name === "FLOAT") return floatPrecision(length);
  const named = NAMED[name];
  if (named !== undefined) return named;
  if (DECIMAL_TYPES.has(name)) return decimalShape(length, numbers[1] ?? null);
  const scaled = SCALED_TYPES[name];
  if (scaled !== undefined) {
    const valid = length !== null && Number.isInteger(length) && length >= 0 && length <= 7;
    return { kind: scaled, scale: valid ? length : 7 };
  }
  if (VARCHAR_TYPES.has(name)) return sized("varchar", length, VARCHAR_BYTES_MAX);
  if (NVARCHAR_TYPES.has(name)) return sized("nvarchar", length, NVARCHAR_CHARS_MAX);
  if (BINARY_TYPES.has(name)) return sized("varbinary", length, VARBINARY_BYTES_MAX);
  if (TEXT_TYPES.has(name)) return { kind: "nvarchar", length: NVARCHAR_CHARS_MAX };
  return byAffinity(name);
}

/** FLOAT(1..24) is T-SQL's real; FLOAT and FLOAT(25..53) are float. */
function floatPrecision(bits: number | null): Shape {
  return { kind: bits !== null && bits >= 1 && bits <= 24 ? "real" : "float" };
}

/** DECIMAL(p, s): T-SQL's defaults are p = 18, s = 0; out-of-range arguments fall back to them. */
function decimalShape(precision: number | null, scale: number | null): Shape {
  const p = precision !== null && Number.isInteger(precision) && precision >= 1 &&
    precision <= DECIMAL_PRECISION_MAX ? precision : 18;
  const s = scale !== null && Number.isInteger(scale) && scale >= 0 && scale <= p ? scale : 0;
  return { kind: "decimal", precision: p, scale: s };
}

function sized(kind: "varchar" | "nvarchar" | "varbinary", length: number | null,
  limit: number): Shape {
  if (length === null || !(length >= 1)) return { kind, length: limit };
  if (length > limit) return { kind: `${kind}_max` };
  return { kind, length: Math.floor(length) };
}

/** Unknown names follow SQLite's own affinity rules (sqlite.org/datatype3.html §3.1). */
function byAffinity(name: string): Declared {
  if (name.includes("INT")) return { kind: "int" };
  if (/CHAR|CLOB|TEXT/.test(name)) return { kind: "nvarchar", length: NVARCHAR_CHARS_MAX };
  if (name.includes("BLOB")) return { kind: "varbinary_max" };
  if (/REAL|FLOA|DOUB/.test(name)) return { kind: "float" };
  return { kind: "infer", fallback: "nvarchar" };
}

/** What one column's non-null values are made of. */
interface ValueStats {
  nonNull: number;
  texts: number; // strings and anything else only representable as text
  binaries: number;
  numbers: number; // number, bigint, boolean
  nonIntegral: boolean; // some number has a fraction (or is not finite)
  smallestInteger: IntegerKind | null; // the narrowest integer kind holding every number
  bitsOnly: boolean; // every number is 0 or 1 (tinyint's range is not enough for BIT)
  beyondReal: boolean; // some number overflows a 4-byte real (SQLite's REAL is 8 bytes)
  binaryBytesMax: number;
}

function collectStats(values: readonly unknown[]): ValueStats {
  const stats: ValueStats = { nonNull: 0, texts: 0, binaries: 0, numbers: 0,
    nonIntegral: false, smallestInteger: "tinyint", bitsOnly: true, beyondReal: false,
    binaryBytesMax: 0 };
  for (const value of values) {
    stats.nonNull += 1;
    if (isBinary(value)) {
      stats.binaries += 1;
      stats.binaryBytesMax = Math.max(stats.binaryBytesMax, value.byteLength);
    } else if (typeof value === "number" || typeof value === "bigint" ||
      typeof value === "boolean") {
      stats.numbers += 1;
      addNumber(stats, typeof value === "boolean" ? Number(value) : value);
    } else {
      stats.texts += 1;
    }
  }
  return stats;
}

function addNumber(stats: ValueStats, value: number | bigint): void {
  // Loose equality so 1 and 1n both count as a bit.
  if (value != 0 && value != 1) stats.bitsOnly = false;
  if (Math.abs(Number(value)) > REAL_MAX) stats.beyondReal = true;
  if (typeof value === "number" && !Number.isInteger(value)) {
    stats.nonIntegral = true;
    return;
  }
  let index = stats.smallestInteger === null ? INTEGER_KINDS.length :
    INTEGER_KINDS.indexOf(stats.smallestInteger);
  while (index < INTEGER_KINDS.length && !fitsInteger(value, INTEGER_KINDS[index]!)) index += 1;
  stats.smallestInteger = INTEGER_KINDS[index] ?? null;
}

/** The wider of two integer kinds. */
function widerInteger(a: IntegerKind, b: IntegerKind): IntegerKind {
  return INTEGER_KINDS.indexOf(a) >= INTEGER_KINDS.indexOf(b) ? a : b;
}

/** Longest text rendering, in UTF-16 code units, of the values. */
function textLengthMax(values: readonly unknown[]): number {
  let longest = 0;
  for (const value of values) longest = Math.max(longest, valueToText(value).length);
  return longest;
}

/** Numbers only: keeps numeric kinds, widening integers by range; fractions force float. */
function numericShape(start: ColumnKind, stats: ValueStats): Shape {
  if (start === "real") return { kind: stats.beyondReal ? "float" : "real" };
  if (start === "float") return { kind: start };
  if (stats.nonIntegral || stats.smallestInteger === null) return { kind: "float" };
  if (start === "bit") {
    return stats.bitsOnly ? { kind: "bit" } : { kind: widerInteger("int", stats.smallestInteger) };
  }
  if (start === "tinyint" || start === "smallint" || start === "int" || start === "bigint") {
    return { kind: widerInteger(start, stats.smallestInteger) };
  }
  return { kind: widerInteger("int", stats.smallestInteger) }; // inferred: int unless too wide
}

/**
 * Text: varchar while every value is CP1252 (else the nvarchar of the same length, at most
 * 4000), widened to the _max kind when a value is longer than the declared length.
 */
function textShape(declared: Shape, values: readonly unknown[]): Shape {
  if (declared.kind === "nvarchar_max") return declared;
  const narrow = declared.kind === "varchar" || declared.kind === "varchar_max";
  if (narrow && values.every((value) => isCp1252(valueToText(value)))) {
    if (declared.kind === "varchar_max") return declared;
    const limit = declared.length ?? VARCHAR_BYTES_MAX;
    return textLengthMax(values) > limit ? { kind: "varchar_max" } :
      { kind: "varchar", length: limit };
  }
  if (declared.kind === "varchar_max") return { kind: "nvarchar_max" };
  const limit = isTextKind(declared.kind) ?
    Math.min(declared.length ?? NVARCHAR_CHARS_MAX, NVARCHAR_CHARS_MAX) : NVARCHAR_CHARS_MAX;
  return textLengthMax(values) > limit ? { kind: "nvarchar_max" } :
    { kind: "nvarchar", length: limit };
}

function binaryShape(declared: Shape, stats: ValueStats): Shape {
  if (declared.kind !== "varbinary") return { kind: "varbinary_max" };
  const limit = declared.length ?? VARBINARY_BYTES_MAX;
  return stats.binaryBytesMax > limit ? { kind: "varbinary_max" } :
    { kind: "varbinary", length: limit };
}

function isTextKind(kind: ColumnKind): boolean {
  return kind === "nvarchar" || kind === "nvarchar_max" || kind === "varchar" ||
    kind === "varchar_max";
}

function isBinaryKind(kind: ColumnKind): boolean {
  return kind === "varbinary" || kind === "varbinary_max";
}

/** Kinds whose values must parse (date/time text, GUID text): checked value by value. */
const PARSED_KINDS = new Set<ColumnKind>(["date", "time", "datetime2", "datetime",
  "datetimeoffset", "uniqueidentifier"]);

/** Decides one column's shape from its declared type and its non-null values. */
function decideShape(declared: Declared, values: readonly unknown[]): Shape {
  const stats = collectStats(values);
  if (declared.kind === "infer") {
    if (stats.nonNull === 0) {
      return { kind: declared.fallback, ...fallbackLength(declared.fallback) };
    }
    return decideShape(inferredStart(stats), values);
  }
  if (stats.nonNull === 0) return declared;
  if (declared.kind === "decimal") {
    const shape = decimalFit(declared, values, stats);
    if (shape !== null) return shape;
  } else if (PARSED_KINDS.has(declared.kind)) {
    const column = toColumnType("", declared);
    if (values.every((value) => converts(column, value))) return declared;
  }
  const onlyBinaries = stats.binaries === stats.nonNull;
  if (isBinaryKind(declared.kind) && onlyBinaries) return binaryShape(declared, stats);
  if (stats.binaries > 0 && onlyBinaries) return { kind: "varbinary_max" };
  // Mixed content, or text where binary, numbers, dates… were declared: only text holds it all.
  if (isTextKind(declared.kind) || isBinaryKind(declared.kind) || stats.texts > 0 ||
    stats.binaries > 0 || declared.kind === "decimal" || PARSED_KINDS.has(declared.kind)) {
    return textShape(isTextKind(declared.kind) ? declared : { kind: "nvarchar" }, values);
  }
  return numericShape(declared.kind, stats);
}

/**
 * decimal(p, s) widened in precision (up to 38) until every value fits at scale s; float when
 * only numbers are present and some need more than 38 digits (or are not finite); null when a
 * value is not numeric at all (the caller then falls back to text).
 */
function decimalFit(declared: Shape, values: readonly unknown[], stats: ValueStats): Shape | null {
  const scale = declared.scale ?? 0;
  let precision = declared.precision ?? 18;
  for (const value of values) {
    const scaled = isBinary(value) ? null : scaleDecimal(value, scale);
    if (scaled === null) {
      return stats.texts === 0 && stats.binaries === 0 ? { kind: "float" } : null;
    }
    precision = Math.max(precision, digitCount(scaled.magnitude));
  }
  if (precision <= DECIMAL_PRECISION_MAX) return { kind: "decimal", precision, scale };
  return stats.texts === 0 && stats.binaries === 0 ? { kind: "float" } : null;
}

/** True when row() can write `value` in `column` (the same conversion, so they cannot drift). */
function converts(column: ColumnType, value: unknown): boolean {
  try {
    toWireValue(column, value);
    return true;
  } catch {
    return false;
  }
}

function fallbackLength(kind: ColumnKind): { length?: number } {
  if (kind === "nvarchar") return { length: NVARCHAR_CHARS_MAX };
  if (kind === "varbinary") return { length: VARBINARY_BYTES_MAX };
  return {};
}

/** The starting kind for a column with no usable declared type, from what its values are. */
function inferredStart(stats: ValueStats): Shape {
  if (stats.binaries === stats.nonNull) return { kind: "varbinary", length: VARBINARY_BYTES_MAX };
  if (stats.texts > 0 || stats.binaries > 0) return { kind: "nvarchar" };
  return { kind: "int" };
}

function toColumnType(name: string, shape: Shape): ColumnType {
  switch (shape.kind) {
    case "nvarchar":
      return { name, kind: shape.kind, maxChars: shape.length ?? NVARCHAR_CHARS_MAX,
        nullable: true };
    case "varbinary":
    case "varchar":
      return { name, kind: shape.kind, maxBytes: shape.length ?? VARBINARY_BYTES_MAX,
        nullable: true };
    case "decimal":
      return { name, kind: shape.kind, precision: shape.precision ?? 18, scale: shape.scale ?? 0,
        nullable: true };
    case "time": case "datetime2": case "datetimeoffset":
      return { name, kind: shape.kind, scale: shape.scale ?? 7, nullable: true };
    default:
      return { name, kind: shape.kind, nullable: true };
  }
}

/**
 * Each result column's TDS type, from SQLite's declared type (the T-SQL type text, or null for
 * expressions) widened to fit every value in `rows`. Every row() of these columns then converts
 * without error. nullable is always true: SQLite cannot tell.
 */
export function columnTypesFor(columns: readonly { name: string; type: string | null }[],
  rows: readonly (readonly unknown[])[]): ColumnType[] {
  return columns.map((column, index) => {
    const values: unknown[] = [];
    for (const row of rows) {
      const value = row[index];
      if (value !== null && value !== undefined) values.push(value);
    }
    return toColumnType(column.name, decideShape(declaredType(column.type), values));
  });
}
