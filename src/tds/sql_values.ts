// Canonical storage values: the contract between the TDS layer and SQLite.
//
// SQLite is dynamically typed and stores whatever the RPC layer hands it; result columns convert
// back using the column's declared T-SQL type (types.ts / values.ts). parseRpcBatch (rpc.ts)
// gives every parameter value in exactly these forms, and the row writer accepts them (and a few
// looser spellings) back:
//
// | T-SQL type                                   | canonical JS value                            |
// |----------------------------------------------|-----------------------------------------------|
// | tinyint, smallint, int, bigint               | number when a safe integer, else bigint       |
// | bit                                          | 0 or 1                                        |
// | real, float                                  | number (a real is its float32 value widened)  |
// | decimal(p,s), numeric, money, smallmoney     | number                                        |
// | char, varchar, nchar, nvarchar, text, ntext, | string                                        |
// | xml                                          |                                               |
// | binary, varbinary, image                     | Buffer                                        |
// | uniqueidentifier                             | 'XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX' (upper) |
// | date                                         | 'YYYY-MM-DD'                                  |
// | time(n)                                      | 'HH:MM:SS[.fffffff]' (exactly n digits)       |
// | datetime2(n)                                 | 'YYYY-MM-DD HH:MM:SS[.fffffff]' (n digits)    |
// | datetime, smalldatetime                      | 'YYYY-MM-DD HH:MM:SS.fff' (3 digits)          |
// | datetimeoffset(n)                            | 'YYYY-MM-DD HH:MM:SS[.fffffff] +HH:MM'        |
//
// Exactness: decimal, numeric and money are numbers, so they are exact only as far as a double
// is (15-17 significant digits), the same as tedious, which reads DECIMALN into a number. The
// text forms are what SQL Server's CONVERT(…, 121) prints and sort correctly as text (a
// datetimeoffset shows local time and its offset, as SQL Server does; the wire carries UTC).
// NULL is null everywhere.

/** 100-nanosecond ticks: the finest fraction any T-SQL time type has (scale 7). */
export const TICKS_PER_SECOND = 10_000_000;
export const TICKS_PER_DAY = 86_400 * TICKS_PER_SECOND;
/** Days from 0001-01-01 to 9999-12-31: the last day date/datetime2/datetimeoffset can hold. */
export const DAYS_MAX = 3_652_058;
/** 1900-01-01 in days since 0001-01-01: the epoch of datetime and smalldatetime. */
export const DAYS_1900 = 693_595;
/** 1753-01-01, the first day datetime can hold. */
export const DATETIME_DAYS_MIN = 639_905;
/** datetimeoffset offsets are −14:00..+14:00. */
export const OFFSET_MINUTES_MAX = 14 * 60;

// ---- calendar (proleptic Gregorian, as SQL Server's date types) ----

/** Days since 0001-01-01 of a valid civil date. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) +
    dayOfYear;
  return era * 146_097 + dayOfEra - 306; // day 0 of this count is 0000-03-01; 0001-01-01 is 306
}

/** [year, month, day] of a day count since 0001-01-01. */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 306;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) +
    Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) -
    Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return [year, month, day];
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

// ---- formatting ----

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/** 'YYYY-MM-DD' for days since 0001-01-01 (0..DAYS_MAX). */
export function formatDate(days: number): string {
  const [year, month, day] = civilFromDays(days);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** 'HH:MM:SS' plus `scale` fraction digits of a time of day in 100 ns ticks. */
export function formatTime(ticks: number, scale: number): string {
  const seconds = Math.floor(ticks / TICKS_PER_SECOND);
  const fraction = ticks - seconds * TICKS_PER_SECOND;
  const text = `${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:` +
    pad(seconds % 60, 2);
  if (scale === 0) return text;
  return `${text}.${pad(fraction, 7).slice(0, scale)}`;
}

/** '+HH:MM' / '-HH:MM'. */
export function formatOffset(minutes: number): string {
  const size = Math.abs(minutes);
  return `${minutes < 0 ? "-" : "+"}${pad(Math.floor(size / 60), 2)}:${pad(size % 60, 2)}`;
}

export function formatDateTime(days: number, ticks: number, scale: number): string {
  return `${formatDate(days)} ${formatTime(ticks, scale)}`;
}

// ---- parsing text ----

/** The parts a date/time text had; absent parts are null. Ticks are exact (≤ 7 digits). */
export interface TemporalText {
  readonly days: number | null;
  readonly ticks: number | null;
  readonly offsetMinutes: number | null;
}

const DATE_AT_START = /^(\d{4})-(\d{2})-(\d{2})/;
const TIME_AT_START = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{0,7}))?)?/;
const TIME_SEPARATOR = /^(?:T|\s+)(?=\d)/i;
const OFFSET_TO_END = /^\s*(Z|[+-]\d{2}:\d{2})?$/i;

/**
 * Parses 'YYYY-MM-DD', 'HH:MM[:SS[.fffffff]]', or both joined by a space or 'T', each optionally
 * followed by 'Z' or '+HH:MM'. Null for anything else or an impossible date, hour, minute or
 * offset. More than 7 fraction digits is refused (SQL Server refuses them too).
 */
export function parseTemporalText(text: string): TemporalText | null {
  let rest = text.trim();
  let days: number | null = null;
  const date = DATE_AT_START.exec(rest);
  if (date !== null) {
    days = civilDays(Number(date[1]), Number(date[2]), Number(date[3]));
    if (days === null) return null;
    rest = rest.slice(date[0].length);
    const separator = TIME_SEPARATOR.exec(rest);
    if (separator === null) return finishTemporal(days, null, rest);
    rest = rest.slice(separator[0].length);
  }
  const time = TIME_AT_START.exec(rest);
  if (time === null) return date === null ? null : finishTemporal(days, null, rest);
  const [, hour, minute, second = "0", fraction = ""] = time;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return null;
  const ticks = ((Number(hour) * 60 + Number(minute)) * 60 + Number(second)) * TICKS_PER_SECOND +
    Number(fraction.padEnd(7, "0"));
  return finishTemporal(days, ticks, rest.slice(time[0].length));
}

function civilDays(year: number, month: number, day: number): number | null {
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return null;
  }
  return daysFromCivil(year, month, day);
}

/** The optional offset that must end the text. */
function finishTemporal(days: number | null, ticks: number | null,
  rest: string): TemporalText | null {
  const match = OFFSET_TO_END.exec(rest);
  if (match === null) return null;
  const offset = match[1];
  if (offset === undefined) return { days, ticks, offsetMinutes: null };
  if (offset.toUpperCase() === "Z") return { days, ticks, offsetMinutes: 0 };
  const hours = Number(offset.slice(1, 3));
  const minutes = Number(offset.slice(4, 6));
  const offsetMinutes = (offset[0] === "-" ? -1 : 1) * (hours * 60 + minutes);
  if (minutes > 59 || Math.abs(offsetMinutes) > OFFSET_MINUTES_MAX) return null;
  return { days, ticks, offsetMinutes };
}

/**
 * A time of day shifted by a UTC offset may leave the day: carries it into the date, so
 * 23:30 −01:00 becomes 00:30 of the next day.
 */
export function shiftDay(days: number, ticks: number, shiftTicks: number): { days: number; ticks: number } {
  let shifted = ticks + shiftTicks;
  let day = days;
  if (shifted < 0) {
    shifted += TICKS_PER_DAY;
    day -= 1;
  } else if (shifted >= TICKS_PER_DAY) {
    shifted -= TICKS_PER_DAY;
    day += 1;
  }
  return { days: day, ticks: shifted };
}

/** Ticks rounded half up to `scale` fraction digits (the result may reach TICKS_PER_DAY). */
export function roundTicks(ticks: number, scale: number): number {
  const step = 10 ** (7 - scale);
  return Math.floor((ticks + step / 2) / step) * step;
}

// ---- uniqueidentifier ----

const GUID_TEXT =
  /^\s*\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?\s*$/i;

/**
 * The canonical text of 16 wire bytes: the first three groups are little-endian (a Windows
 * GUID struct), the last two are bytes in order.
 */
export function guidFromBytes(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hex = (from: number, to: number, reverse: boolean): string => {
    const part = Buffer.from(b.subarray(from, to));
    return (reverse ? part.reverse() : part).toString("hex");
  };
  return [hex(0, 4, true), hex(4, 6, true), hex(6, 8, true), hex(8, 10, false),
    hex(10, 16, false)].join("-").toUpperCase();
}

/** The 16 wire bytes of a GUID text (braces and any case accepted), or null. */
export function guidToBytes(text: string): Buffer | null {
  const match = GUID_TEXT.exec(text);
  if (match === null) return null;
  const group = (index: number, reverse: boolean): Buffer => {
    const part = Buffer.from(match[index]!, "hex");
    return reverse ? part.reverse() : part;
  };
  return Buffer.concat([group(1, true), group(2, true), group(3, true), group(4, false),
    group(5, false)]);
}

// ---- decimal ----

/** Decimal text of ±magnitude·10^-scale, e.g. (true, 12345n, 2) → "-123.45". */
export function decimalText(negative: boolean, magnitude: bigint, scale: number): string {
  const digits = magnitude.toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const text = scale === 0 ? whole : `${whole}.${digits.slice(digits.length - scale)}`;
  return negative && magnitude !== 0n ? `-${text}` : text;
}

const DECIMAL_TEXT = /^\s*([+-])?(\d*)(?:\.(\d*))?(?:e([+-]?\d{1,6}))?\s*$/i;
/** Digits beyond any decimal(38): a longer result cannot fit, so stop before building it. */
const DIGITS_LIMIT = 80;

/** A value scaled to an integer: value = (negative ? -1 : 1) · magnitude · 10^-scale. */
export interface ScaledDecimal {
  readonly negative: boolean;
  readonly magnitude: bigint;
}

/**
 * `value` (number, bigint, boolean or numeric text such as "-1.5e3") as an integer count of
 * 10^-scale units, rounded half away from zero, as SQL Server converts to decimal(p, scale).
 * Null when the value is not numeric, not finite, or needs more than 80 digits.
 */
export function scaleDecimal(value: unknown, scale: number): ScaledDecimal | null {
  let text: string;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return null;
    text = String(value); // shortest round-trip digits: 0.1 is "0.1", not 0.1000000000000000055…
  } else if (typeof value === "bigint") {
    text = value.toString();
  } else if (typeof value === "boolean") {
    text = value ? "1" : "0";
  } else if (typeof value === "string") {
    text = value;
  } else {
    return null;
  }
  const match = DECIMAL_TEXT.exec(text);
  if (match === null) return null;
  const [, sign, whole = "", fraction = "", exponent = "0"] = match;
  if (whole === "" && fraction === "") return null;
  const digits = (whole + fraction).replace(/^0+/, "");
  // value = digits · 10^(shift − scale)
  const shift = Number(exponent) - fraction.length + scale;
  let magnitude: bigint;
  if (digits === "") {
    magnitude = 0n;
  } else if (shift >= 0) {
    if (digits.length + shift > DIGITS_LIMIT) return null;
    magnitude = BigInt(digits + "0".repeat(shift));
  } else if (-shift > digits.length) {
    magnitude = 0n; // everything is below half a unit
  } else {
    const kept = digits.slice(0, digits.length + shift);
    if (kept.length > DIGITS_LIMIT) return null;
    const roundUp = digits.charCodeAt(digits.length + shift) >= 0x35; // first dropped digit ≥ 5
    magnitude = BigInt(kept === "" ? "0" : kept) + (roundUp ? 1n : 0n);
  }
  return { negative: sign === "-" && magnitude !== 0n, magnitude };
}

/** Decimal digits in a magnitude (1 for 0). */
export function digitCount(magnitude: bigint): number {
  return magnitude.toString().length;
}
