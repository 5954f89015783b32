// sqlcmd's output format for `mirrorlite sql`. Pure: strings in, strings out.
//
// A result set prints as the column names, a line of dashes, the rows, then a blank line;
// "(N rows affected)" follows when the statement reports a count. Every column is as wide as
// the larger of its name and its type's display size (ODBC column sizes: int 11, bigint 21,
// float 24, nvarchar(n) n, max types SQLCMDMAXVARTYPEWIDTH = 256, ...), so lines carry trailing
// spaces unless -W; numbers, dates and bits are right-aligned, text left-aligned. Columns are
// separated by SQLCMDCOLSEP (-s, a space by default). -h n repeats the headers every n rows
// (after a blank line), -h -1 prints none. Values longer than the width are cut to it.
// Server errors print as "Msg N, Level L, State S, Server X[, Procedure P], Line n" and the
// text; informational messages (severity <= 10) print as their text alone.

/** The column metadata that decides the layout (tedious's names and lengths in bytes). */
export interface ColumnMeta {
  name: string;
  /** tedious type name: "IntN", "NVarChar", "FloatN", "DateTime2", ... */
  type: string;
  /** Bytes: 1/2/4/8 for the N types, 2n for nvarchar(n), 0xFFFF for (max). */
  dataLength: number | undefined;
  precision: number | undefined;
  scale: number | undefined;
}

/** The settings that shape a result set (command-line options and SQLCMD* variables). */
export interface OutputSettings {
  /** -h / SQLCMDHEADERS: 0 headers once, n > 0 every n rows, -1 none. */
  headers: number;
  /** -s / SQLCMDCOLSEP. */
  colsep: string;
  /** -W: no padding and no trailing spaces; dashes as long as the column name. */
  trimSpaces: boolean;
  /** -y / SQLCMDMAXVARTYPEWIDTH: width of max types (0 = unlimited, unpadded). */
  maxVarWidth: number;
  /** -Y / SQLCMDMAXFIXEDTYPEWIDTH: cap on (n)char/binary widths (0 = none). */
  maxFixedWidth: number;
}

export const DEFAULT_OUTPUT: OutputSettings = {
  headers: 0, colsep: " ", trimSpaces: false, maxVarWidth: 256, maxFixedWidth: 0,
};

/** A dash line never grows past this (sqlcmd's pad limit). */
const DASHES_MAX = 8000;
/** The length tedious reports for (max) types. */
const MAX_LENGTH = 0xffff;

/** How one column is shown. */
export interface ColumnLayout {
  /** Characters; 0 means unlimited (a max type with -y 0). */
  width: number;
  rightAlign: boolean;
}

type Kind = "integer" | "bit" | "float" | "real" | "decimal" | "money" | "date" | "time"
  | "datetime" | "smalldatetime" | "datetime2" | "datetimeoffset" | "guid" | "text"
  | "binary" | "other";

/** The kind of value a column holds, from tedious's type name and length. */
function kindOf(column: ColumnMeta): Kind {
  switch (column.type) {
    case "Int": case "IntN": case "BigInt": case "SmallInt": case "TinyInt": return "integer";
    case "Bit": case "BitN": return "bit";
    case "Float": return "float";
    case "Real": return "real";
    case "FloatN": return column.dataLength === 4 ? "real" : "float";
    case "Decimal": case "DecimalN": case "Numeric": case "NumericN": return "decimal";
    case "Money": case "MoneyN": case "SmallMoney": return "money";
    case "Date": return "date";
    case "Time": return "time";
    case "DateTime": return "datetime";
    case "SmallDateTime": return "smalldatetime";
    case "DateTimeN": return column.dataLength === 4 ? "smalldatetime" : "datetime";
    case "DateTime2": return "datetime2";
    case "DateTimeOffset": return "datetimeoffset";
    case "UniqueIdentifier": return "guid";
    case "NVarChar": case "NChar": case "VarChar": case "Char": case "Text": case "NText":
    case "Xml": return "text";
    case "VarBinary": case "Binary": case "Image": return "binary";
    default: return "other";
  }
}

/** Display size of an integer column: digits of its range plus the sign. */
function integerSize(column: ColumnMeta): number {
  const bytes = column.type === "IntN" ? column.dataLength
    : { TinyInt: 1, SmallInt: 2, Int: 4, BigInt: 8 }[column.type];
  return bytes === 1 ? 3 : bytes === 2 ? 6 : bytes === 8 ? 21 : 11;
}

/** Fractional-second digits of a time-bearing column (7 when the metadata has none). */
function fractionDigits(column: ColumnMeta): number {
  return column.scale ?? 7;
}

/** The display size of a column's type, or "large" for the max / LOB types. */
function typeSize(column: ColumnMeta, settings: OutputSettings): number | "large" {
  const length = column.dataLength ?? 0;
  const fixed = (size: number): number =>
    settings.maxFixedWidth > 0 ? Math.min(settings.maxFixedWidth, size) : size;
  const withFraction = (base: number): number =>
    base + (fractionDigits(column) > 0 ? fractionDigits(column) + 1 : 0);
  switch (kindOf(column)) {
    case "integer": return integerSize(column);
    case "bit": return 1;
    case "real": return 14;
    case "float": return 24;
    case "money": return column.dataLength === 4 || column.type === "SmallMoney" ? 14 : 24;
    case "decimal": return (column.precision ?? 38) + 2;
    case "date": return 10;
    case "time": return withFraction(8);
    case "datetime": return 23;
    case "smalldatetime": return 19;
    case "datetime2": return withFraction(19);
    case "datetimeoffset": return withFraction(19) + 7;
    case "guid": return 36;
    case "text": {
      if (length >= MAX_LENGTH || column.type === "Text" || column.type === "NText"
        || column.type === "Xml") return "large";
      return fixed(column.type === "NVarChar" || column.type === "NChar" ? length / 2 : length);
    }
    // "0x" and two hex digits per byte.
    case "binary":
      return length >= MAX_LENGTH || column.type === "Image" ? "large" : fixed(2 + 2 * length);
    default: return "large";
  }
}

/** Width and alignment of every column. */
export function layoutColumns(columns: readonly ColumnMeta[], settings: OutputSettings):
  ColumnLayout[] {
  return columns.map((column) => {
    const kind = kindOf(column);
    const size = typeSize(column, settings);
    const rightAlign = kind !== "text" && kind !== "binary" && kind !== "guid" && kind !== "other";
    if (size === "large") return { width: settings.maxVarWidth, rightAlign };
    return { width: Math.max(size, column.name.length), rightAlign };
  });
}

const pad2 = (n: number): string => String(n).padStart(2, "0");

function datePart(value: Date): string {
  return `${String(value.getUTCFullYear()).padStart(4, "0")}-${pad2(value.getUTCMonth() + 1)}-`
    + pad2(value.getUTCDate());
}

/** hh:mm:ss plus `digits` fractional digits (tedious keeps sub-millisecond time apart). */
function timePart(value: Date, digits: number): string {
  const base = `${pad2(value.getUTCHours())}:${pad2(value.getUTCMinutes())}:`
    + pad2(value.getUTCSeconds());
  if (digits <= 0) return base;
  const extra = (value as Date & { nanosecondsDelta?: number }).nanosecondsDelta ?? 0;
  const ticks = value.getUTCMilliseconds() * 10_000 + Math.round(extra * 1e7);
  return `${base}.${String(ticks).padStart(7, "0").slice(0, digits)}`;
}

/** A value as sqlcmd prints it: NULL, 0x-hex binaries, 1/0 bits, ISO-style dates. */
export function displayValue(value: unknown, column: ColumnMeta): string {
  if (value === null || value === undefined) return "NULL";
  if (Buffer.isBuffer(value)) return `0x${value.toString("hex").toUpperCase()}`;
  const kind = kindOf(column);
  if (typeof value === "boolean") return value ? "1" : "0";
  if (value instanceof Date) {
    switch (kind) {
      case "date": return datePart(value);
      case "time": return timePart(value, fractionDigits(column));
      case "datetime": return `${datePart(value)} ${timePart(value, 3)}`;
      case "smalldatetime": return `${datePart(value)} ${timePart(value, 0)}`;
      // tedious hands the UTC instant; the original offset is not kept.
      case "datetimeoffset":
        return `${datePart(value)} ${timePart(value, fractionDigits(column))} +00:00`;
      default: return `${datePart(value)} ${timePart(value, fractionDigits(column))}`;
    }
  }
  if (typeof value === "number") {
    if (kind === "decimal" && column.scale !== undefined) return value.toFixed(column.scale);
    if (kind === "money") return value.toFixed(4);
    // A REAL arrives widened to a double; its 7 significant digits are what it holds.
    if (kind === "real") return String(Number(value.toPrecision(7)));
  }
  return String(value);
}

/** Prints one result set: `start` before the first row, `row` per row, `end` after the last. */
export class ResultSetPrinter {
  readonly layout: ColumnLayout[];
  private rows = 0;

  constructor(readonly columns: readonly ColumnMeta[], readonly settings: OutputSettings) {
    this.layout = layoutColumns(columns, settings);
  }

  /** The header lines (none with -h -1). */
  start(): string {
    return this.settings.headers < 0 ? "" : this.headerLines();
  }

  /** One row (values in column order), preceded by repeated headers under -h n. */
  row(values: readonly unknown[]): string {
    let text = "";
    const every = this.settings.headers;
    if (every > 0 && this.rows > 0 && this.rows % every === 0) text += `\n${this.headerLines()}`;
    this.rows += 1;
    const cells = this.columns.map((column, i) => this.cell(displayValue(values[i], column), i));
    return `${text}${cells.join(this.settings.colsep)}\n`;
  }

  /** After the last row: the blank line that closes a result set. */
  end(): string {
    return "\n";
  }

  private cell(text: string, index: number): string {
    const { width, rightAlign } = this.layout[index]!;
    const cut = width > 0 && text.length > width ? text.slice(0, width) : text;
    if (this.settings.trimSpaces || width === 0) return cut;
    return rightAlign ? cut.padStart(width) : cut.padEnd(width);
  }

  private headerLines(): string {
    const names: string[] = [];
    const dashes: string[] = [];
    this.columns.forEach((column, i) => {
      const { width } = this.layout[i]!;
      if (this.settings.trimSpaces || width === 0) {
        // An unnamed column still gets one dash, so the line shows it exists.
        names.push(column.name);
        dashes.push("-".repeat(Math.max(1, column.name.length)));
      } else {
        names.push(column.name.slice(0, width).padEnd(width));
        dashes.push("-".repeat(Math.min(width, DASHES_MAX)));
      }
    });
    return `${names.join(this.settings.colsep)}\n${dashes.join(this.settings.colsep)}\n`;
  }
}

/** "(1 row affected)" / "(N rows affected)". */
export function rowsAffected(count: number): string {
  return `(${count} ${count === 1 ? "row" : "rows"} affected)\n`;
}

/** A message or error token from the server, as tedious reports it. */
export interface ServerMessage {
  number: number;
  /** Severity (the TDS "class"). */
  class: number;
  state: number;
  serverName: string;
  procName: string;
  lineNumber: number;
  message: string;
}

/**
 * A server message as sqlcmd prints it: errors (severity > 10) with the "Msg" line, other
 * messages as their text, unless `withHeader` (-m -1 shows every header).
 */
export function formatMessage(message: ServerMessage, withHeader: boolean): string {
  if (message.class <= 10 && !withHeader) return `${message.message}\n`;
  const procedure = message.procName === "" ? "" : `, Procedure ${message.procName}`;
  return `Msg ${message.number}, Level ${message.class}, State ${message.state}, `
    + `Server ${message.serverName}${procedure}, Line ${message.lineNumber}\n${message.message}\n`;
}
