// Single-byte text for VARCHAR/CHAR/TEXT values. The wire carries such text in the code page of
// the value's collation (MS-TDS 2.2.5.1.2): we decode code page 1252 (the Latin1_General and
// SQL_Latin1_General_CP1 collations), UTF-8 (collations with the UTF8 flag, SQL Server 2019+) and
// fall back to ISO-8859-1 for anything else; results are always written as CP1252 with the
// SQL_Latin1_General_CP1_CI_AS collation. Pure: own tables, no ICU or iconv.

/** Windows-1252 bytes 0x80..0x9F → UTF-16 code unit (the five unassigned bytes map to
 * themselves, as Windows does). */
const CP1252_HIGH = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
  0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
  0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
  0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
] as const;

/** Reverse of CP1252_HIGH: code unit → byte, for the 32 characters that are not ISO-8859-1. */
const CP1252_BYTE_OF = new Map<number, number>(CP1252_HIGH.map((unit, i) => [unit, 0x80 + i]));

const QUESTION_MARK = 0x3f;

/** The CP1252 byte for one UTF-16 code unit, or -1 when code page 1252 has no such character. */
function cp1252Byte(unit: number): number {
  if (unit < 0x80 || (unit >= 0xa0 && unit <= 0xff)) return unit;
  return CP1252_BYTE_OF.get(unit) ?? -1;
}

/** True when every character of `text` exists in code page 1252 (so varchar can carry it). */
export function isCp1252(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (cp1252Byte(text.charCodeAt(i)) < 0) return false;
  }
  return true;
}

/**
 * CP1252 bytes for `text`, one byte per UTF-16 code unit. A character outside the code page
 * becomes '?', as SQL Server's conversion to varchar does (a surrogate pair gives two '?').
 */
export function encodeCp1252(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  for (let i = 0; i < text.length; i++) {
    const byte = cp1252Byte(text.charCodeAt(i));
    out[i] = byte < 0 ? QUESTION_MARK : byte;
  }
  return out;
}

export function decodeCp1252(bytes: Uint8Array): string {
  let text = "";
  const step = 4096; // String.fromCharCode takes the units as arguments: bound the spread
  for (let at = 0; at < bytes.length; at += step) {
    const units = Array.from(bytes.subarray(at, at + step),
      (byte) => (byte >= 0x80 && byte <= 0x9f ? CP1252_HIGH[byte - 0x80]! : byte));
    text += String.fromCharCode(...units);
  }
  return text;
}

/** How the bytes of a collated single-byte value are decoded. */
export type CodePage = "cp1252" | "utf8" | "latin1";

/** Collation flag bit for UTF-8 (bit 26 of the collation's first u32: byte 3, bit 2). */
const COLLATION_UTF8_FLAG = 0x04;

/** SQL collations (SortId ≠ 0) on code page 1252: SQL_Latin1_General_CP1_* and kin. */
const CP1252_SORT_IDS = new Set([51, 52, 53, 54, 183, 184, 185, 186]);

/** Windows collations (SortId 0) whose LCID's ANSI code page is 1252. */
const CP1252_LCIDS = new Set([0x0406, 0x0407, 0x0409, 0x040a, 0x040b, 0x040c, 0x040f,
  0x0414, 0x0417, 0x042e, 0x0437, 0x043b, 0x0452, 0x0462, 0x047a, 0x047c, 0x047e, 0x0483,
  0x083b, 0x085f, 0x0c0a]);

/**
 * The code page of a 5-byte TDS collation: LCID in the low 20 bits of the first u32 (its low 16
 * bits name the language), flags above it, SortId in the fifth byte. Anything not known to be
 * CP1252 or UTF-8 decodes as ISO-8859-1, which never fails and is right for ASCII.
 */
export function collationCodePage(collation: Uint8Array): CodePage {
  if (collation.length < 5) return "latin1";
  if ((collation[3]! & COLLATION_UTF8_FLAG) !== 0) return "utf8";
  const sortId = collation[4]!;
  if (sortId !== 0) return CP1252_SORT_IDS.has(sortId) ? "cp1252" : "latin1";
  const language = collation[0]! | (collation[1]! << 8);
  return CP1252_LCIDS.has(language) ? "cp1252" : "latin1";
}

export function decodeText(bytes: Uint8Array, codePage: CodePage): string {
  if (codePage === "cp1252") return decodeCp1252(bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString(codePage === "utf8" ? "utf8" : "latin1");
}
