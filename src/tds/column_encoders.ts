// Value bytes (without their length prefix) of the result column kinds whose values need parsing:
// decimal, the date/time kinds and uniqueidentifier, as SQL Server sends them in ROW tokens
// (MS-TDS 2.2.5.5.1). Inputs are engine values in their canonical forms (sql_values.ts) or
// looser spellings; each encoder returns the bytes or why it could not: "invalid" (does not
// parse) or "overflow" (parses but is out of the type's range).
import {
  DATETIME_DAYS_MIN, DAYS_1900, DAYS_MAX, TICKS_PER_DAY, TICKS_PER_SECOND, digitCount, shiftDay,
  guidToBytes, parseTemporalText, roundTicks, scaleDecimal, type TemporalText,
} from "./sql_values.js";
import { timeBytes } from "./type_info.js";

export type EncodeFailure = "invalid" | "overflow";
export type Encoded = Buffer | EncodeFailure;

/** DECIMALN value bytes for a precision: sign + 4, 8, 12 or 16 magnitude bytes. */
export function decimalBytes(precision: number): number {
  return precision <= 9 ? 5 : precision <= 19 ? 9 : precision <= 28 ? 13 : 17;
}

/** Sign byte (1 = positive, 0 = negative) and the magnitude little-endian, rounded to scale. */
export function encodeDecimal(value: unknown, precision: number, scale: number): Encoded {
  if (typeof value === "number" && !Number.isFinite(value)) return "overflow";
  const scaled = isBinary(value) ? null : scaleDecimal(value, scale);
  if (scaled === null) return "invalid";
  if (digitCount(scaled.magnitude) > precision) return "overflow";
  const out = Buffer.alloc(decimalBytes(precision));
  out[0] = scaled.negative ? 0 : 1;
  let rest = scaled.magnitude;
  for (let i = 1; rest > 0n; i++) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

function isBinary(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function parseText(value: unknown): TemporalText | null {
  return typeof value === "string" ? parseTemporalText(value) : null;
}

function writeDays(out: Buffer, at: number, days: number): void {
  out.writeUIntLE(days, at, 3);
}

function writeTime(out: Buffer, ticks: number, scale: number): void {
  out.writeUIntLE(ticks / 10 ** (7 - scale), 0, timeBytes(scale));
}

/** A date and a time rounded to `scale`, carrying into the next day; a text without a date
 * is on 1900-01-01, as CAST gives. */
function dayAndTime(parts: TemporalText, scale: number): { days: number; ticks: number } {
  let days = parts.days ?? DAYS_1900;
  let ticks = roundTicks(parts.ticks ?? 0, scale);
  if (ticks >= TICKS_PER_DAY) {
    ticks -= TICKS_PER_DAY;
    days += 1;
  }
  return { days, ticks };
}

/** DATEN: 3 bytes of days since 0001-01-01. A time in the text is dropped, as CAST does. */
export function encodeDate(value: unknown): Encoded {
  const parts = parseText(value);
  if (parts === null || parts.days === null) return "invalid";
  const out = Buffer.alloc(3);
  writeDays(out, 0, parts.days);
  return out;
}

/** TIMEN: units of 10^-scale s since midnight (a date in the text is dropped). */
export function encodeTime(value: unknown, scale: number): Encoded {
  const parts = parseText(value);
  if (parts === null || parts.ticks === null) return "invalid";
  const ticks = roundTicks(parts.ticks, scale) % TICKS_PER_DAY; // 23:59:59.9999999 → 00:00:00
  const out = Buffer.alloc(timeBytes(scale));
  writeTime(out, ticks, scale);
  return out;
}

/** DATETIME2N: time then date. An offset in the text is ignored, as CAST does. */
export function encodeDatetime2(value: unknown, scale: number): Encoded {
  const parts = parseText(value);
  if (parts === null) return "invalid";
  const { days, ticks } = dayAndTime(parts, scale);
  if (days > DAYS_MAX) return "overflow";
  const out = Buffer.alloc(timeBytes(scale) + 3);
  writeTime(out, ticks, scale);
  writeDays(out, timeBytes(scale), days);
  return out;
}

/** DATETIMN(8): i32 days since 1900-01-01, u32 ticks of 1/300 s (1753-01-01 .. 9999-12-31). */
export function encodeDatetime(value: unknown): Encoded {
  const parts = parseText(value);
  if (parts === null) return "invalid";
  let days = parts.days ?? DAYS_1900;
  let ticks = Math.round((parts.ticks ?? 0) * 300 / TICKS_PER_SECOND);
  if (ticks >= 300 * 86_400) {
    ticks -= 300 * 86_400;
    days += 1;
  }
  if (days < DATETIME_DAYS_MIN || days > DAYS_MAX) return "overflow";
  const out = Buffer.alloc(8);
  out.writeInt32LE(days - DAYS_1900, 0);
  out.writeUInt32LE(ticks, 4);
  return out;
}

/** DATETIMEOFFSETN: UTC time, UTC date, i16 offset minutes. No offset in the text is +00:00. */
export function encodeDatetimeOffset(value: unknown, scale: number): Encoded {
  const parts = parseText(value);
  if (parts === null) return "invalid";
  const offset = parts.offsetMinutes ?? 0;
  const local = dayAndTime(parts, scale);
  const { days, ticks } = shiftDay(local.days, local.ticks, -offset * 60 * TICKS_PER_SECOND);
  if (days < 0 || days > DAYS_MAX) return "overflow";
  const out = Buffer.alloc(timeBytes(scale) + 5);
  writeTime(out, ticks, scale);
  writeDays(out, timeBytes(scale), days);
  out.writeInt16LE(offset, timeBytes(scale) + 3);
  return out;
}

/** GUID: 16 bytes from GUID text, or a 16-byte binary as it is (binary(16) converts implicitly). */
export function encodeGuid(value: unknown): Encoded {
  if (isBinary(value)) return value.byteLength === 16 ? Buffer.from(value) : "invalid";
  return typeof value === "string" ? guidToBytes(value) ?? "invalid" : "invalid";
}
