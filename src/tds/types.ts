// Result column types. SQLite keeps the T-SQL type text the user declared, but stores values
// dynamically (an INT column may hold text), so a column's TDS type starts from the declared
// type and is then widened until every value actually present converts without loss.
import {
  INTEGER_KINDS, REAL_MAX, fitsInteger, isBinary, valueToText, type IntegerKind,
} from "./values.js";

export type ColumnKind = "tinyint" | "smallint" | "int" | "bigint" | "bit" | "real" | "float" |
  "nvarchar" | "nvarchar_max" | "varbinary" | "varbinary_max";

export interface ColumnType {
  readonly name: string;
  readonly kind: ColumnKind;
  /** nvarchar only: 1..4000 UTF-16 code units. */
  readonly maxChars?: number;
  /** varbinary only: 1..8000 bytes. */
  readonly maxBytes?: number;
  readonly nullable: boolean;
}

export const NVARCHAR_CHARS_MAX = 4000;
export const VARBINARY_BYTES_MAX = 8000;

/**
 * Where the declared type leaves the choice: a concrete kind (with a length for nvarchar and
 * varbinary), or "infer" (no declared type, or a numeric type with no TDS kind here such as
 * DECIMAL): decided by the values, with `fallback` when every value is NULL.
 */
type Declared =
  | { readonly kind: ColumnKind; readonly length?: number }
  | { readonly kind: "infer"; readonly fallback: ColumnKind };

const NAMED: Readonly<Record<string, Declared>> = {
  INT: { kind: "int" }, INTEGER: { kind: "int" }, BIGINT: { kind: "bigint" },
  SMALLINT: { kind: "smallint" }, TINYINT: { kind: "tinyint" },
  BIT: { kind: "bit" }, BOOLEAN: { kind: "bit" }, BOOL: { kind: "bit" },
  REAL: { kind: "real" }, FLOAT: { kind: "float" }, DOUBLE: { kind: "float" },
  "DOUBLE PRECISION": { kind: "float" },
  DECIMAL: { kind: "infer", fallback: "float" }, NUMERIC: { kind: "infer", fallback: "float" },
  DEC: { kind: "infer", fallback: "float" }, MONEY: { kind: "infer", fallback: "float" },
  SMALLMONEY: { kind: "infer", fallback: "float" },
  TEXT: { kind: "nvarchar_max" }, NTEXT: { kind: "nvarchar_max" },
  CLOB: { kind: "nvarchar_max" }, XML: { kind: "nvarchar_max" },
  SYSNAME: { kind: "nvarchar", length: 128 },
  BLOB: { kind: "varbinary_max" }, IMAGE: { kind: "varbinary_max" },
  ROWVERSION: { kind: "varbinary", length: 8 },
};

/** Character types that take a length; without one we pick 4000 (SQLite enforces none). */
const CHAR_TYPES = new Set(["CHAR", "VARCHAR", "NCHAR", "NVARCHAR", "CHARACTER",
  "CHARACTER VARYING", "CHAR VARYING", "NATIONAL CHARACTER", "NATIONAL CHAR",
  "NATIONAL CHARACTER VARYING", "NATIONAL CHAR VARYING", "VARYING CHARACTER",
  "NATIVE CHARACTER"]);
const BINARY_TYPES = new Set(["BINARY", "VARBINARY", "BINARY VARYING"]);
/** T-SQL types sent as text: SQLite holds their values as strings. */
const TEXT_TYPES = new Set(["DATE", "TIME", "DATETIME", "DATETIME2", "SMALLDATETIME",
  "DATETIMEOFFSET", "UNIQUEIDENTIFIER", "SQL_VARIANT", "HIERARCHYID"]);

/** Parses SQLite's declared type text ("NVARCHAR(50)", "float(24)", null…). */
export function declaredType(type: string | null): Declared {
  if (type === null) return { kind: "infer", fallback: "int" };
  const match = /^([^(]*?)\s*(?:\(([^)]*)\))?\s*$/.exec(type.replace(/[[\]"`]/g, ""));
  const name = (match?.[1] ?? type).trim().toUpperCase().replace(/\s+/g, " ");
  const argument = match?.[2]?.split(",")[0]?.trim().toUpperCase() ?? null;
  const length = argument === "MAX" ? Infinity : argument === null ? null : Number(argument);
  const named = NAMED[name];
  if (named !== undefined) return name === "FLOAT" ? floatPrecision(length) : named;
  if (CHAR_TYPES.has(name)) return sized("nvarchar", length, NVARCHAR_CHARS_MAX);
  if (BINARY_TYPES.has(name)) return sized("varbinary", length, VARBINARY_BYTES_MAX);
  if (TEXT_TYPES.has(name)) return { kind: "nvarchar", length: NVARCHAR_CHARS_MAX };
  return byAffinity(name);
}

/** FLOAT(1..24) is T-SQL's real; FLOAT and FLOAT(25..53) are float. */
function floatPrecision(bits: number | null): Declared {
  return { kind: bits !== null && bits >= 1 && bits <= 24 ? "real" : "float" };
}

function sized(kind: "nvarchar" | "varbinary", length: number | null, limit: number): Declared {
  if (length === null || !(length >= 1)) return { kind, length: limit };
  if (length > limit) return { kind: kind === "nvarchar" ? "nvarchar_max" : "varbinary_max" };
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

function collectStats(rows: readonly (readonly unknown[])[], column: number): ValueStats {
  const stats: ValueStats = { nonNull: 0, texts: 0, binaries: 0, numbers: 0,
    nonIntegral: false, smallestInteger: "tinyint", bitsOnly: true, beyondReal: false,
    binaryBytesMax: 0 };
  for (const row of rows) {
    const value = row[column];
    if (value === null || value === undefined) continue;
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

/** Longest text rendering, in UTF-16 code units, of a column's non-null values. */
function textLengthMax(rows: readonly (readonly unknown[])[], column: number): number {
  let longest = 0;
  for (const row of rows) {
    const value = row[column];
    if (value === null || value === undefined) continue;
    longest = Math.max(longest, valueToText(value).length);
  }
  return longest;
}

type Shape = { readonly kind: ColumnKind; readonly length?: number };

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

function textShape(declared: Shape, rows: readonly (readonly unknown[])[], column: number): Shape {
  if (declared.kind === "nvarchar_max") return declared;
  const limit = declared.kind === "nvarchar" ? declared.length ?? NVARCHAR_CHARS_MAX :
    NVARCHAR_CHARS_MAX;
  return textLengthMax(rows, column) > limit ? { kind: "nvarchar_max" } :
    { kind: "nvarchar", length: limit };
}

function binaryShape(declared: Shape, stats: ValueStats): Shape {
  if (declared.kind !== "varbinary") return { kind: "varbinary_max" };
  const limit = declared.length ?? VARBINARY_BYTES_MAX;
  return stats.binaryBytesMax > limit ? { kind: "varbinary_max" } :
    { kind: "varbinary", length: limit };
}

function isTextKind(kind: ColumnKind): boolean {
  return kind === "nvarchar" || kind === "nvarchar_max";
}

function isBinaryKind(kind: ColumnKind): boolean {
  return kind === "varbinary" || kind === "varbinary_max";
}

/** Decides one column's shape from its declared type and its values' stats. */
function decideShape(declared: Declared, stats: ValueStats,
  rows: readonly (readonly unknown[])[], column: number): Shape {
  if (declared.kind === "infer") {
    if (stats.nonNull === 0) {
      return { kind: declared.fallback, ...fallbackLength(declared.fallback) };
    }
    return decideShape(inferredStart(stats), stats, rows, column);
  }
  const onlyBinaries = stats.binaries === stats.nonNull; // vacuously true when all are NULL
  if (isBinaryKind(declared.kind) && onlyBinaries) return binaryShape(declared, stats);
  if (stats.binaries > 0 && onlyBinaries) return { kind: "varbinary_max" };
  // Mixed content, or text where binary or numbers were declared: only text holds it all.
  if (isTextKind(declared.kind) || isBinaryKind(declared.kind) || stats.texts > 0 ||
    stats.binaries > 0) {
    return textShape(isTextKind(declared.kind) ? declared : { kind: "nvarchar" }, rows, column);
  }
  return numericShape(declared.kind, stats);
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
  if (shape.kind === "nvarchar") {
    return { name, kind: shape.kind, maxChars: shape.length ?? NVARCHAR_CHARS_MAX, nullable: true };
  }
  if (shape.kind === "varbinary") {
    return { name, kind: shape.kind, maxBytes: shape.length ?? VARBINARY_BYTES_MAX,
      nullable: true };
  }
  return { name, kind: shape.kind, nullable: true };
}

/**
 * Each result column's TDS type, from SQLite's declared type (the T-SQL type text, or null for
 * expressions) widened to fit every value in `rows`. Every row() of these columns then converts
 * without error. nullable is always true: SQLite cannot tell.
 */
export function columnTypesFor(columns: readonly { name: string; type: string | null }[],
  rows: readonly (readonly unknown[])[]): ColumnType[] {
  return columns.map((column, index) => {
    const stats = collectStats(rows, index);
    return toColumnType(column.name, decideShape(declaredType(column.type), stats, rows, index));
  });
}
