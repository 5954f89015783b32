// Goal: every result column kind (decimal, date/time, uniqueidentifier, varchar) is chosen from
// the declared T-SQL type, widened when a stored value does not fit, written with the TYPE_INFO
// SQL Server sends, and read by tedious as the value its users expect; the canonical-value
// helpers (calendar, decimal scaling, GUID, CP1252) are right at their edges.
// Method: golden bytes from MS-TDS 2.2.5; tedious's token parser as the decoding oracle; JS Date
// as an independent calendar; seeded random tables proving every row of columnTypesFor converts.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  collationCodePage, decodeCp1252, encodeCp1252, isCp1252,
} from "../src/tds/codepage.js";
import {
  DAYS_MAX, formatDate, guidFromBytes, guidToBytes, parseTemporalText, scaleDecimal,
} from "../src/tds/sql_values.js";
import { TokenWriter } from "../src/tds/tokens.js";
import { columnTypesFor, type ColumnType } from "../src/tds/types.js";
import { ValueConversionError, toWireValue } from "../src/tds/values.js";
import { hex, prng, tediousTokens } from "./support/tds_bytes.js";

function shape(type: string | null, values: unknown[]): (string | number | null)[] {
  const [column] = columnTypesFor([{ name: "c", type }], values.map((value) => [value]));
  const { kind, maxChars, maxBytes, precision, scale } = column!;
  return [kind, maxChars ?? maxBytes ?? null, precision ?? null, scale ?? null];
}

test("columnTypesFor: the new kinds from declared types, and their widening", () => {
  const cases: [string | null, unknown[], (string | number | null)[]][] = [
    ["DECIMAL(10, 2)", [1.5, "2.25", 3n, true], ["decimal", null, 10, 2]],
    ["decimal", [1], ["decimal", null, 18, 0]],
    ["NUMERIC(5,2)", [123456.789], ["decimal", null, 8, 2]],
    ["NUMERIC(5,2)", [1e300], ["float", null, null, null]],
    ["NUMERIC(5,2)", [Infinity], ["float", null, null, null]],
    ["NUMERIC(38,0)", ["1e40"], ["nvarchar", 4000, null, null]],
    ["DECIMAL(5,2)", ["abc", 1], ["nvarchar", 4000, null, null]],
    ["MONEY", [1.23456], ["decimal", null, 19, 4]],
    ["SMALLMONEY", [null], ["decimal", null, 10, 4]],
    ["DATE", ["2024-02-29", "2024-02-29 10:00"], ["date", null, null, null]],
    ["DATE", ["tomorrow"], ["nvarchar", 4000, null, null]],
    ["DATE", ["2023-02-29"], ["nvarchar", 4000, null, null]],
    ["DATE", [5], ["nvarchar", 4000, null, null]],
    ["DATE", [hex("00")], ["varbinary_max", null, null, null]],
    ["TIME(3)", ["13:14:15.1235"], ["time", null, null, 3]],
    ["TIME", ["25:00"], ["nvarchar", 4000, null, null]],
    ["time(9)", [null], ["time", null, null, 7]],
    ["DATETIME2", ["2024-01-02T03:04:05Z"], ["datetime2", null, null, 7]],
    ["DATETIME2(3)", ["9999-12-31 23:59:59.9999"], ["nvarchar", 4000, null, null]],
    ["DATETIME", ["2024-01-02 03:04:05.123"], ["datetime", null, null, null]],
    ["DATETIME", ["1600-01-01"], ["nvarchar", 4000, null, null]],
    ["SMALLDATETIME", ["2024-01-02 03:04"], ["datetime", null, null, null]],
    ["DATETIMEOFFSET(0)", ["2024-01-02 03:04:05 +02:00"], ["datetimeoffset", null, null, 0]],
    ["DATETIMEOFFSET", ["2024-01-02 03:04:05 +15:00"], ["nvarchar", 4000, null, null]],
    ["UNIQUEIDENTIFIER", ["6f9619ff-8b86-d011-b42d-00c04fc964ff"],
      ["uniqueidentifier", null, null, null]],
    ["UNIQUEIDENTIFIER", ["not-a-guid"], ["nvarchar", 4000, null, null]],
    ["VARCHAR(10)", ["café €"], ["varchar", 10, null, null]],
    ["VARCHAR", ["x"], ["varchar", 8000, null, null]],
    ["CHAR(3)", ["abcd"], ["varchar_max", null, null, null]],
    ["VARCHAR(10)", ["☃"], ["nvarchar", 10, null, null]],
    ["VARCHAR(5000)", ["☃"], ["nvarchar", 4000, null, null]],
    ["VARCHAR(3)", ["abc☃"], ["nvarchar_max", null, null, null]],
    ["VARCHAR(2147483647)", ["x"], ["varchar_max", null, null, null]],
    ["VARCHAR(MAX)", ["☃"], ["nvarchar_max", null, null, null]],
    ["VARCHAR(4)", [hex("00"), "a"], ["varchar", 4, null, null]],
    ["NCHAR(5)", ["☃"], ["nvarchar", 5, null, null]],
  ];
  for (const [type, values, expected] of cases) {
    assert.deepEqual(shape(type, values), expected, `${type} ${String(values[0])}`);
  }
});

test("TYPE_INFO and values: golden bytes as SQL Server sends them", () => {
  const golden = (column: ColumnType, value: unknown, typeInfo: string, bytes: string) => {
    const out = new TokenWriter().colMetadata([column]).row([column], [value]).take();
    const expected = Buffer.concat([hex("81 0100 00000000 0100"), hex(typeInfo), hex("01"),
      Buffer.from("c", "utf16le"), hex("d1"), hex(bytes)]);
    assert.deepEqual(out, expected, `${column.kind} ${String(value)}`);
  };
  const c = { name: "c", nullable: true } as const;
  golden({ ...c, kind: "decimal", precision: 10, scale: 2 }, 123.45, "6a 09 0a 02",
    "09 01 3930000000000000");
  golden({ ...c, kind: "decimal", precision: 5, scale: 2 }, "-1.005", "6a 05 05 02",
    "05 00 65000000");
  golden({ ...c, kind: "decimal", precision: 38, scale: 0 }, 10n ** 37n, "6a 11 26 00",
    "11 01 00000000a036f400d946dad510ee8507");
  golden({ ...c, kind: "date" }, "0001-01-01", "28", "03 000000");
  golden({ ...c, kind: "date" }, "9999-12-31", "28", "03 dab937");
  golden({ ...c, kind: "time", scale: 0 }, "23:59:59", "29 00", "03 7f5101");
  golden({ ...c, kind: "time", scale: 7 }, "00:00:00.0000001", "29 07", "05 0100000000");
  golden({ ...c, kind: "datetime2", scale: 3 }, "1900-01-01 00:00:01.5", "2a 03",
    "07 dc050000 5b950a");
  golden({ ...c, kind: "datetime" }, "1900-01-01 00:00:01.007", "6f 08",
    "08 00000000 2e010000");
  golden({ ...c, kind: "datetime" }, "1899-12-31", "6f 08", "08 ffffffff 00000000");
  golden({ ...c, kind: "datetimeoffset", scale: 0 }, "1900-01-01 01:00:00 +02:00", "2b 00",
    "08 704301 5a950a 7800");
  golden({ ...c, kind: "uniqueidentifier" }, "6f9619ff-8b86-d011-b42d-00c04fc964ff", "24 10",
    "10 ff19966f868b11d0b42d00c04fc964ff");
  golden({ ...c, kind: "varchar", maxBytes: 10 }, "é€", "a7 0a00 0904d00034", "0200 e980");
  golden({ ...c, kind: "varchar_max" }, "ab", "a7 ffff 0904d00034",
    "0200000000000000 02000000 6162 00000000");
});

test("rows of every new kind: tedious reads the values its users expect", async () => {
  const declared = [
    { name: "d", type: "DECIMAL(10,2)" }, { name: "n", type: "NUMERIC(38,10)" },
    { name: "m", type: "MONEY" }, { name: "dt", type: "DATE" }, { name: "t", type: "TIME(3)" },
    { name: "d2", type: "DATETIME2" }, { name: "d1", type: "DATETIME" },
    { name: "o", type: "DATETIMEOFFSET(0)" }, { name: "g", type: "UNIQUEIDENTIFIER" },
    { name: "v", type: "VARCHAR(10)" }, { name: "vm", type: "VARCHAR(MAX)" },
  ];
  const long = "é".repeat(9000);
  const rows = [
    [123.456, "12345678901234567890.0123456789", 1.23456, "2024-02-29 10:00", "13:14:15.1235",
      "2024-01-02T03:04:05.1234567Z", "2024-01-02 03:04:05.123", "2024-01-02 03:04:05 +02:00",
      "6f9619ff-8b86-d011-b42d-00c04fc964ff", "café", long],
    new Array(11).fill(null),
  ];
  const columns = columnTypesFor(declared, rows);
  assert.deepEqual(columns.map((column) => column.kind), ["decimal", "decimal", "decimal", "date",
    "time", "datetime2", "datetime", "datetimeoffset", "uniqueidentifier", "varchar",
    "varchar_max"]);
  const writer = new TokenWriter().colMetadata(columns);
  for (const row of rows) writer.row(columns, row);
  const tokens = await tediousTokens(writer.take());
  assert.deepEqual(tokens.map((token) => token["name"]), ["COLMETADATA", "ROW", "NBCROW"]);
  const values = (tokens[1]!["columns"] as { value: unknown }[]).map((cell) => cell.value);
  const times = (cells: unknown[]) => cells.map((cell) => (cell as Date).toISOString());
  assert.deepEqual([values[0], values[2]], [123.46, 1.2346]);
  const big = values[1] as number; // tedious sums the magnitude's words as doubles
  assert.ok(Math.abs(big - 12345678901234567890.0123456789) < 1e5, String(big));
  assert.deepEqual(times(values.slice(3, 8)), ["2024-02-29T00:00:00.000Z",
    "1970-01-01T13:14:15.124Z", "2024-01-02T03:04:05.123Z", "2024-01-02T03:04:05.123Z",
    "2024-01-02T01:04:05.000Z"]);
  assert.deepEqual(values.slice(8), ["6F9619FF-8B86-D011-B42D-00C04FC964FF", "café", long]);
  const nulls = (tokens[2]!["columns"] as { value: unknown }[]).map((cell) => cell.value);
  assert.deepEqual(nulls, new Array(11).fill(null));
});

test("toWireValue on explicitly typed columns fails like SQL Server", () => {
  const fails = (column: Omit<ColumnType, "name" | "nullable">, value: unknown, number: number) =>
    assert.throws(() => toWireValue({ name: "c", nullable: true, ...column }, value),
      (error) => error instanceof ValueConversionError && error.number === number,
      `${column.kind} ${String(value)}`);
  fails({ kind: "decimal", precision: 3, scale: 1 }, 100, 8115);
  fails({ kind: "decimal", precision: 3, scale: 1 }, "x", 8114);
  fails({ kind: "decimal", precision: 3, scale: 1 }, hex("01"), 206);
  fails({ kind: "date" }, "tomorrow", 241);
  fails({ kind: "date" }, 5, 206);
  fails({ kind: "datetime" }, "1600-01-01", 242);
  fails({ kind: "uniqueidentifier" }, "x", 8169);
  fails({ kind: "varchar", maxBytes: 2 }, "abc", 8152);
  const guid = toWireValue({ name: "g", nullable: true, kind: "uniqueidentifier" },
    hex("00112233445566778899aabbccddeeff"));
  assert.deepEqual(guid, hex("00112233445566778899aabbccddeeff"));
  assert.deepEqual(toWireValue({ name: "v", nullable: true, kind: "varchar", maxBytes: 5 }, "a☃"),
    Buffer.from("a?"));
});

const TYPES = ["DECIMAL(5,2)", "NUMERIC(38,4)", "MONEY", "DATE", "TIME(2)", "DATETIME2(0)",
  "DATETIME", "DATETIMEOFFSET(3)", "UNIQUEIDENTIFIER", "VARCHAR(3)", "VARCHAR(MAX)", "CHAR(1)"];

function randomValue(random: ReturnType<typeof prng>): unknown {
  const choices = [null, 0, -7, 123.456, 1e300, 2n ** 70n, "1.5", "abc", "☃", "x".repeat(9),
    "2024-02-29", "2024-02-30", "9999-12-31 23:59:59.9999999", "0001-01-01 00:00:00 +01:00",
    "23:59:59.999", "1753-01-01", "6f9619ff-8b86-d011-b42d-00c04fc964ff", hex("00"),
    Buffer.alloc(16), true, "1e-9", "-0.005", "2024-01-02T03:04:05.1234567-14:00"];
  return choices[random.below(choices.length)];
}

test("columnTypesFor: every row of its columns converts (random tables, new kinds)", () => {
  const random = prng(77);
  for (let round = 0; round < 3000; round++) {
    const declared = [{ name: "c", type: TYPES[random.below(TYPES.length)]! }];
    const rows = Array.from({ length: random.below(5) }, () => [randomValue(random)]);
    const columns = columnTypesFor(declared, rows);
    const writer = new TokenWriter().colMetadata(columns);
    for (const row of rows) writer.row(columns, row); // throws on any conversion failure
  }
});

// ---- canonical value helpers ----

test("formatDate agrees with JS Date over the whole range", () => {
  const epoch = Date.parse("0001-01-01T00:00:00Z");
  const random = prng(5);
  const days = [0, 1, 59, 60, 365, 693_595, DAYS_MAX, ...Array.from({ length: 3000 },
    () => random.below(DAYS_MAX + 1))];
  for (const day of days) {
    const expected = new Date(epoch + day * 86_400_000).toISOString().slice(0, 10);
    assert.equal(formatDate(day), expected, String(day));
    assert.equal(parseTemporalText(expected)?.days, day, expected);
  }
});

test("parseTemporalText: accepted and refused spellings", () => {
  const ok: [string, number | null, number | null, number | null][] = [
    ["2024-01-02", 738_886, null, null],
    ["2024-01-02 03:04:05.1234567", 738_886, 110_451_234_567, null],
    [" 2024-01-02T03:04 ", 738_886, 110_400_000_000, null],
    ["2024-01-02T03:04:05Z", 738_886, 110_450_000_000, 0],
    ["2024-01-02 03:04:05 -05:30", 738_886, 110_450_000_000, -330],
    ["3:04", null, 110_400_000_000, null],
    ["23:59:59.9999999", null, 863_999_999_999, null],
  ];
  for (const [text, days, ticks, offset] of ok) {
    assert.deepEqual(parseTemporalText(text), { days, ticks, offsetMinutes: offset }, text);
  }
  for (const text of ["", "tomorrow", "2024-13-01", "2024-02-30", "0000-01-01", "24:00",
    "12:60", "12:00:60", "2024-01-0203:04", "2024-01-02 03:04:05.12345678", "+01:00",
    "2024-01-02 +14:01", "2024-01-02 +01:60", "2024-01-02T"]) {
    assert.equal(parseTemporalText(text), null, text);
  }
});

test("scaleDecimal: rounding half away from zero, exponents, limits", () => {
  const scaled = (value: unknown, scale: number) => {
    const result = scaleDecimal(value, scale);
    return result === null ? null : (result.negative ? "-" : "") + result.magnitude;
  };
  assert.equal(scaled(1.005, 2), "101"); // the shortest spelling of the double, not 1.00499…
  assert.equal(scaled(-1.005, 2), "-101");
  assert.equal(scaled("0.0049", 2), "0");
  assert.equal(scaled("-0.004", 2), "0");
  assert.equal(scaled("1e3", 0), "1000");
  assert.equal(scaled("1.5E-1", 1), "2");
  assert.equal(scaled(" +.5 ", 0), "1");
  assert.equal(scaled(12n, 3), "12000");
  assert.equal(scaled(1e21, 0), "1000000000000000000000");
  assert.equal(scaled("9".repeat(81), 0), null);
  assert.equal(scaled("1e999999", 0), null);
  for (const bad of ["", ".", "abc", "1e", "--1", "0x10", NaN, {}, null]) {
    assert.equal(scaled(bad, 2), null, String(bad));
  }
});

test("GUID bytes round-trip in SQL Server's mixed-endian order", () => {
  const random = prng(9);
  for (let i = 0; i < 200; i++) {
    const bytes = random.bytes(16);
    assert.deepEqual(guidToBytes(guidFromBytes(bytes)), bytes);
  }
  assert.equal(guidFromBytes(hex("ff19966f868b11d0b42d00c04fc964ff")),
    "6F9619FF-8B86-D011-B42D-00C04FC964FF");
  assert.deepEqual(guidToBytes("{6F9619FF-8B86-D011-B42D-00C04FC964FF}"),
    hex("ff19966f868b11d0b42d00c04fc964ff"));
  assert.equal(guidToBytes("6F9619FF-8B86-D011-B42D-00C04FC964F"), null);
});

test("CP1252: all 256 bytes round-trip; other characters are refused or become '?'", () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const text = decodeCp1252(all);
  assert.equal(text.slice(0x80, 0x84), "€\u0081‚ƒ");
  assert.ok(isCp1252(text));
  assert.deepEqual(encodeCp1252(text), all);
  assert.equal(isCp1252("☃"), false);
  assert.equal(isCp1252("\u0080"), false); // C1 control 0x80 is '€' in CP1252
  assert.deepEqual(encodeCp1252("a☃𝄞"), Buffer.from("a???"));
  assert.equal(collationCodePage(hex("0904d00034")), "cp1252");
  assert.equal(collationCodePage(hex("0904d00400")), "utf8");
  assert.equal(collationCodePage(hex("1104d00000")), "latin1"); // Japanese: not decoded here
  assert.equal(collationCodePage(hex("0904")), "latin1");
});
