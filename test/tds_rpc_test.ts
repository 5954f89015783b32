// Goal: RPC requests parse into the canonical values of sql_values.ts for every type a client
// sends, and every result column kind reaches a client as the value its users expect.
// Method: tedious builds the requests with its own Request + RpcRequestPayload (the exact bytes it
// puts on the wire); our RETURNVALUE/ROW tokens are decoded by tedious's own token parser; the
// FreeTDS ODBC shape (positional sp_prepexec with NTEXT) and the types tedious cannot send (XML,
// PLP of unknown length in several chunks, batched RPCs) are built by hand from MS-TDS 2.2.6.6;
// parsers are fuzzed with a seeded PRNG to prove they only ever throw ProtocolViolation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Collation } from "tedious/lib/collation.js";
import { TYPES } from "tedious/lib/data-type.js";
import RequestModule from "tedious/lib/request.js";
import RpcPayloadModule from "tedious/lib/rpcrequest-payload.js";
import { ProtocolViolation } from "../src/tds/packet.js";
import {
  ProcId, RPCS_PER_MESSAGE_MAX, RPC_PARAMETERS_MAX, columnTypeForParameter, parseRpcBatch,
  type RpcParameter,
} from "../src/tds/rpc.js";
import { COLLATION_LATIN1_CI_AS, TokenWriter } from "../src/tds/tokens.js";
import { hex, prng, tediousTokens, utf16 } from "./support/tds_bytes.js";

const TediousRequest = RequestModule as unknown as typeof RequestModule.default;
const TediousRpcPayload = RpcPayloadModule as unknown as typeof RpcPayloadModule.default;

type TediousType = (typeof TYPES)[keyof typeof TYPES];

const OPTIONS = { tdsVersion: "7_4", useUTC: true };
const COLLATION = Collation.fromBuffer(COLLATION_LATIN1_CI_AS);
const DESCRIPTOR = Buffer.from("0102030405060708", "hex");

interface TypeOptions { length?: number; precision?: number; scale?: number; output?: boolean }

/** What tedious's Connection.execSql sends for a Request with one parameter "p". */
function tediousExecSql(sql: string, type: TediousType | null, value: unknown,
  options: TypeOptions = {}): Buffer {
  const request = new TediousRequest(sql, () => undefined);
  if (type !== null) request.addParameter("p", type, value, options);
  request.validateParameters(COLLATION);
  const parameters: unknown[] = [{ type: TYPES.NVarChar, name: "statement", value: sql,
    output: false, length: undefined, precision: undefined, scale: undefined }];
  if (request.parameters.length > 0) {
    parameters.push({ type: TYPES.NVarChar, name: "params",
      value: request.makeParamsParameter(request.parameters), output: false,
      length: undefined, precision: undefined, scale: undefined }, ...request.parameters);
  }
  return Buffer.concat([...new TediousRpcPayload(ProcId.SP_EXECUTESQL, parameters as never,
    DESCRIPTOR, OPTIONS as never, COLLATION)]);
}

/** tedious's own T-SQL declaration for a parameter ("decimal(10, 2)", "nvarchar(max)"…). */
function tediousDeclaration(type: TediousType, value: unknown, options: TypeOptions): string {
  const request = new TediousRequest("", () => undefined);
  request.addParameter("p", type, value, options);
  request.validateParameters(COLLATION);
  return (type as unknown as { declaration(p: unknown): string })
    .declaration(request.parameters[0]);
}

/** Compares what tedious decoded with what a tedious user expects (Dates by instant). */
function assertTediousValue(actual: unknown, expected: unknown, message: string): void {
  if (expected instanceof Date) {
    assert.ok(actual instanceof Date, `${message}: ${String(actual)} is not a Date`);
    assert.equal(actual.getTime(), expected.getTime(), message);
  } else if (typeof expected === "number" && typeof actual === "number" && expected !== 0) {
    assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * 1e-15,
      `${message}: ${actual} vs ${expected}`);
  } else {
    assert.deepEqual(actual, expected, message);
  }
}

const utc = (iso: string): Date => new Date(iso);

/** datetimeoffset as tedious sends it: the instant in UTC, the machine's offset beside it. */
function localWithOffset(date: Date, scale: number): string {
  const offset = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offset * 60_000).toISOString();
  const fraction = (local.slice(20, 23) + "0000").slice(0, scale);
  const size = Math.abs(offset);
  const zone = `${offset < 0 ? "-" : "+"}${String(Math.floor(size / 60)).padStart(2, "0")}:` +
    String(size % 60).padStart(2, "0");
  return `${local.slice(0, 10)} ${local.slice(11, 19)}${scale > 0 ? "." + fraction : ""} ${zone}`;
}

interface Case {
  readonly type: TediousType;
  readonly value: unknown;
  readonly options?: TypeOptions;
  /** The canonical value parseRpcBatch must give. */
  readonly canonical: unknown;
  /** What tedious gives back when the value returns in RETURNVALUE (default: `value`). */
  readonly back?: unknown;
}

const dto = utc("2024-01-02T03:04:05.123Z");

const CASES: Case[] = [
  { type: TYPES.TinyInt, value: 255, canonical: 255 },
  { type: TYPES.TinyInt, value: 0, canonical: 0 },
  { type: TYPES.SmallInt, value: -32768, canonical: -32768 },
  { type: TYPES.Int, value: -2147483648, canonical: -2147483648 },
  { type: TYPES.BigInt, value: 9007199254740993n, canonical: 9007199254740993n,
    back: "9007199254740993" },
  { type: TYPES.BigInt, value: -5, canonical: -5, back: "-5" },
  { type: TYPES.Bit, value: true, canonical: 1 },
  { type: TYPES.Bit, value: false, canonical: 0 },
  { type: TYPES.Real, value: 1.5, canonical: 1.5 },
  { type: TYPES.Real, value: 0.1, canonical: Math.fround(0.1), back: Math.fround(0.1) },
  { type: TYPES.Float, value: -0.1, canonical: -0.1 },
  { type: TYPES.Float, value: 1.7976931348623157e308, canonical: 1.7976931348623157e308 },
  { type: TYPES.Decimal, value: 123.45, options: { precision: 10, scale: 2 }, canonical: 123.45 },
  { type: TYPES.Decimal, value: -7, canonical: -7 },
  { type: TYPES.Decimal, value: -0.5, options: { precision: 5, scale: 4 }, canonical: -0.5 },
  { type: TYPES.Numeric, value: 1234.5678, options: { precision: 38, scale: 4 },
    canonical: 1234.5678 },
  { type: TYPES.Numeric, value: 99999999.9, options: { precision: 28, scale: 1 },
    canonical: 99999999.9 },
  { type: TYPES.Money, value: 123.4567, canonical: 123.4567 },
  { type: TYPES.Money, value: -123456789.1234, canonical: -123456789.1234 },
  { type: TYPES.SmallMoney, value: -12.5, canonical: -12.5 },
  { type: TYPES.DateTime, value: utc("2024-01-02T03:04:05.007Z"),
    canonical: "2024-01-02 03:04:05.007" },
  { type: TYPES.DateTime, value: utc("1753-01-02T00:00:00Z"),
    canonical: "1753-01-02 00:00:00.000" },
  { type: TYPES.SmallDateTime, value: utc("2079-06-05T23:59:00Z"),
    canonical: "2079-06-05 23:59:00.000" },
  { type: TYPES.Date, value: utc("2024-02-29T00:00:00Z"), canonical: "2024-02-29" },
  { type: TYPES.Date, value: utc("0001-01-02T00:00:00Z"), canonical: "0001-01-02" },
  { type: TYPES.Time, value: utc("1970-01-01T13:14:15.123Z"), canonical: "13:14:15.1230000" },
  { type: TYPES.Time, value: utc("1970-01-01T13:14:15.123Z"), options: { scale: 3 },
    canonical: "13:14:15.123" },
  { type: TYPES.DateTime2, value: utc("9999-12-30T23:59:59.999Z"),
    canonical: "9999-12-30 23:59:59.9990000" },
  { type: TYPES.DateTime2, value: utc("2024-01-02T03:04:05.678Z"), options: { scale: 3 },
    canonical: "2024-01-02 03:04:05.678" },
  { type: TYPES.DateTime2, value: utc("2024-01-02T03:04:05Z"), options: { scale: 0 },
    canonical: "2024-01-02 03:04:05" },
  { type: TYPES.DateTimeOffset, value: dto, canonical: localWithOffset(dto, 7) },
  { type: TYPES.DateTimeOffset, value: dto, options: { scale: 3 },
    canonical: localWithOffset(dto, 3) },
  { type: TYPES.UniqueIdentifier, value: "6f9619ff-8b86-d011-b42d-00c04fc964ff",
    canonical: "6F9619FF-8B86-D011-B42D-00C04FC964FF",
    back: "6F9619FF-8B86-D011-B42D-00C04FC964FF" },
  { type: TYPES.NVarChar, value: "", canonical: "" },
  { type: TYPES.NVarChar, value: "héllo ☃ 𝄞", canonical: "héllo ☃ 𝄞" },
  { type: TYPES.NVarChar, value: "n".repeat(4000), canonical: "n".repeat(4000) },
  { type: TYPES.NVarChar, value: "ü".repeat(5000), canonical: "ü".repeat(5000) },
  { type: TYPES.NVarChar, value: "", options: { length: 5000 }, canonical: "" },
  { type: TYPES.VarChar, value: "café €‰", canonical: "café €‰" },
  { type: TYPES.VarChar, value: "", canonical: "" },
  { type: TYPES.VarChar, value: "v".repeat(9000), canonical: "v".repeat(9000) },
  { type: TYPES.Char, value: "abc", canonical: "abc" },
  { type: TYPES.NChar, value: "ab☃", canonical: "ab☃" },
  { type: TYPES.VarBinary, value: Buffer.alloc(0), canonical: Buffer.alloc(0) },
  { type: TYPES.VarBinary, value: prng(1).bytes(8000), canonical: prng(1).bytes(8000) },
  { type: TYPES.VarBinary, value: prng(2).bytes(9000), canonical: prng(2).bytes(9000) },
  { type: TYPES.Binary, value: hex("010203"), canonical: hex("010203") },
  { type: TYPES.Text, value: "some text é", canonical: "some text é" },
  { type: TYPES.NText, value: "ünïcode 𝄞", canonical: "ünïcode 𝄞" },
  { type: TYPES.Image, value: prng(3).bytes(10000), canonical: prng(3).bytes(10000) },
];

const NULLABLE_TYPES: TediousType[] = [TYPES.TinyInt, TYPES.SmallInt, TYPES.Int, TYPES.BigInt,
  TYPES.Bit, TYPES.Real, TYPES.Float, TYPES.Decimal, TYPES.Numeric, TYPES.Money,
  TYPES.SmallMoney, TYPES.DateTime, TYPES.SmallDateTime, TYPES.Date, TYPES.Time, TYPES.DateTime2,
  TYPES.DateTimeOffset, TYPES.UniqueIdentifier, TYPES.NVarChar, TYPES.VarChar, TYPES.Char,
  TYPES.NChar, TYPES.VarBinary, TYPES.Binary, TYPES.Text, TYPES.NText, TYPES.Image];

function describe(c: { type: TediousType; value: unknown; options?: TypeOptions }): string {
  const shown = c.value instanceof Date ? c.value.toISOString() : String(c.value).slice(0, 20);
  return `${c.type.name}(${JSON.stringify(c.options ?? {})}) ${shown}`;
}

function onlyParameter(payload: Buffer): RpcParameter {
  const requests = parseRpcBatch(payload);
  assert.equal(requests.length, 1);
  const [request] = requests;
  assert.equal(request!.procId, ProcId.SP_EXECUTESQL);
  assert.equal(request!.procName, null);
  assert.deepEqual(request!.transactionDescriptor, DESCRIPTOR);
  assert.equal(request!.parameters.length, 3);
  return request!.parameters[2]!;
}

test("sp_executesql from tedious: statement, declaration and each type's canonical value", () => {
  for (const c of CASES) {
    const payload = tediousExecSql("select @p", c.type, c.value, c.options);
    const [statement, params, p] = parseRpcBatch(payload)[0]!.parameters;
    assert.deepEqual([statement!.name, statement!.value, statement!.type.sqlType],
      ["@statement", "select @p", "nvarchar(9)"]);
    assert.equal(params!.name, "@params");
    const declaration = tediousDeclaration(c.type, c.value, c.options ?? {});
    assert.equal(params!.value, `@p ${declaration}`);
    assert.equal(p!.name, "@p", describe(c));
    assert.deepEqual(p!.value, c.canonical, describe(c));
    assert.equal(p!.type.sqlType, declaration, describe(c));
    assert.deepEqual([p!.output, p!.defaultValue], [false, false]);
  }
});

test("sp_executesql from tedious: NULL of every type, output flags", () => {
  for (const type of NULLABLE_TYPES) {
    const p = onlyParameter(tediousExecSql("select 1", type, null, { output: true }));
    assert.equal(p.value, null, type.name);
    assert.equal(p.output, true, type.name);
  }
  const none = parseRpcBatch(tediousExecSql("select 1", null, null));
  assert.deepEqual(none[0]!.parameters.map((p) => [p.name, p.value]),
    [["@statement", "select 1"]]);
  const long = "select '" + "x".repeat(5000) + "'";
  assert.equal(parseRpcBatch(tediousExecSql(long, null, null))[0]!.parameters[0]!.value, long);
});

test("RETURNVALUE of each parameter's type: tedious reads back what its user sent", async () => {
  for (const c of CASES) {
    const p = onlyParameter(tediousExecSql("select @p", c.type, c.value, c.options));
    const column = columnTypeForParameter(p.type, "@p");
    const payload = new TokenWriter().returnValue(2, "@p", column, p.value)
      .returnValue(3, "@n", column, null).take();
    const [token, nullToken] = await tediousTokens(payload);
    assert.equal(token!["paramName"], "p");
    assert.equal(token!["paramOrdinal"], 2);
    assertTediousValue(token!["value"], c.back ?? c.value, describe(c));
    assert.equal(nullToken!["value"], null, describe(c));
  }
});

test("columnTypeForParameter: nearest column kinds", () => {
  const kind = (type: TediousType, value: unknown, options: TypeOptions = {}) => {
    const column = columnTypeForParameter(onlyParameter(tediousExecSql("x", type, value,
      options)).type, "@p");
    return [column.kind, column.maxChars ?? column.maxBytes ?? null, column.precision ?? null,
      column.scale ?? null];
  };
  assert.deepEqual(kind(TYPES.Money, 1), ["decimal", null, 19, 4]);
  assert.deepEqual(kind(TYPES.SmallMoney, 1), ["decimal", null, 10, 4]);
  assert.deepEqual(kind(TYPES.SmallDateTime, new Date(0)), ["datetime", null, null, null]);
  assert.deepEqual(kind(TYPES.Time, new Date(0), { scale: 2 }), ["time", null, null, 2]);
  assert.deepEqual(kind(TYPES.NChar, "abc"), ["nvarchar", 3, null, null]);
  assert.deepEqual(kind(TYPES.Char, "abc"), ["varchar", 3, null, null]);
  assert.deepEqual(kind(TYPES.Binary, hex("00")), ["varbinary", 1, null, null]);
  assert.deepEqual(kind(TYPES.VarBinary, Buffer.alloc(0)), ["varbinary", 1, null, null]);
  assert.deepEqual(kind(TYPES.Text, "t"), ["varchar_max", null, null, null]);
  assert.deepEqual(kind(TYPES.NText, "t"), ["nvarchar_max", null, null, null]);
  assert.deepEqual(kind(TYPES.Image, hex("00")), ["varbinary_max", null, null, null]);
  assert.deepEqual(kind(TYPES.NVarChar, null, { output: true }), ["nvarchar", 4000, null, null]);
});

// (tedious range-checks dates in the machine's time zone, so the values above stay a day inside
// each type's range; the edges are covered by the hand-built and sql_values tests.)

// ---- hand-built requests: FreeTDS shapes and what tedious never sends ----

const ALL_HEADERS = hex("16000000 12000000 0200 0102030405060708 01000000");

function rpc(...parts: Buffer[]): Buffer {
  return Buffer.concat([ALL_HEADERS, ...parts]);
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16LE(value);
  return out;
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0);
  return out;
}

/** B_VARCHAR name + status + TYPE_INFO + value. */
function param(name: string, status: number, typeInfo: Buffer, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([name.length]), utf16(name), Buffer.from([status]), typeInfo,
    value]);
}

const COLLATION_BYTES = COLLATION_LATIN1_CI_AS;

/** NTEXT parameter as FreeTDS writes it: u32 size + collation, then u32 length + UTF-16. */
function ntext(text: string | null): Buffer {
  const bytes = text === null ? Buffer.alloc(0) : utf16(text);
  return param("", 0, Buffer.concat([hex("63"), u32(bytes.length), COLLATION_BYTES]),
    Buffer.concat([u32(text === null ? 0xffffffff : bytes.length), bytes]));
}

const FREETDS_PREPEXEC = rpc(
  hex("ffff 0d00 0000"),
  param("", 1, hex("26 04"), hex("00")), // handle: INTN(4) output, NULL
  ntext("@P1 int,@P2 nvarchar(10)"),
  ntext("select @P1, @P2"),
  param("", 0, hex("26 04"), hex("04 2a000000")),
  param("", 0, Buffer.concat([hex("e7 1400"), COLLATION_BYTES]), Buffer.concat([u16(6),
    utf16("abc")])),
);

test("FreeTDS ODBC sp_prepexec: positional params, NTEXT @params/@stmt, handle output", () => {
  const [request] = parseRpcBatch(FREETDS_PREPEXEC);
  assert.equal(request!.procId, ProcId.SP_PREPEXEC);
  assert.equal(request!.optionFlags, 0);
  assert.deepEqual(request!.parameters.map((p) => [p.name, p.output, p.type.sqlType, p.value]), [
    ["", true, "int", null],
    ["", false, "ntext", "@P1 int,@P2 nvarchar(10)"],
    ["", false, "ntext", "select @P1, @P2"],
    ["", false, "int", 42],
    ["", false, "nvarchar(10)", "abc"],
  ]);
  assert.deepEqual(request!.parameters[0]!.type.typeInfo, hex("26 04"));
  assert.deepEqual(columnTypeForParameter(request!.parameters[0]!.type, "@handle"),
    { name: "@handle", nullable: true, kind: "int" });
  const withNullParams = rpc(hex("ffff 0d00 0000"), param("", 1, hex("26 04"), hex("00")),
    ntext(null), ntext("select 1"));
  assert.equal(parseRpcBatch(withNullParams)[0]!.parameters[1]!.value, null);
});

test("batched RPCs: 0xFF and 0xFE separators, a trailing flag, procedures by name", () => {
  const unprepare = Buffer.concat([hex("ffff 0f00 0000"), param("", 0, hex("26 04"),
    hex("04 01000000"))]);
  const byName = Buffer.concat([u16(6), utf16("dbo.pr"), hex("0200"),
    param("@a", 2, hex("26 04"), hex("00"))]);
  const requests = parseRpcBatch(rpc(FREETDS_PREPEXEC.subarray(ALL_HEADERS.length), hex("ff"),
    unprepare, hex("fe"), byName, hex("ff")));
  assert.deepEqual(requests.map((r) => [r.procId, r.procName, r.optionFlags,
    r.parameters.length]), [[13, null, 0, 5], [15, null, 0, 1], [null, "dbo.pr", 2, 1]]);
  assert.ok(requests.every((r) => r.transactionDescriptor?.equals(DESCRIPTOR)));
  assert.deepEqual([requests[2]!.parameters[0]!.defaultValue, requests[2]!.parameters[0]!.name],
    [true, "@a"]);
  // 0x80 is a 128-character name unless the caller speaks TDS 7.1.
  const legacy = rpc(unprepare, hex("80"), unprepare);
  assert.equal(parseRpcBatch(legacy, { legacyBatchFlag: true }).length, 2);
  assert.throws(() => parseRpcBatch(legacy), violation);
});

test("PLP: unknown length in several chunks, known length, empty, NULL, XML with schema", () => {
  const nvarcharMax = Buffer.concat([hex("e7 ffff"), COLLATION_BYTES]);
  const plp = (total: Buffer, ...chunks: Buffer[]) => Buffer.concat([total,
    ...chunks.flatMap((chunk) => [u32(chunk.length), chunk]), u32(0)]);
  const unknown = hex("feffffffffffffff");
  const values = parseRpcBatch(rpc(hex("ffff 0a00 0000"),
    param("@a", 0, nvarcharMax, plp(unknown, utf16("ab"), utf16("cd"), utf16("é"))),
    param("@b", 0, nvarcharMax, plp(hex("0600000000000000"), utf16("xyz"))),
    param("@c", 0, nvarcharMax, plp(hex("0000000000000000"))),
    param("@d", 0, nvarcharMax, hex("ffffffffffffffff")),
    param("@e", 0, hex("f1 00"), plp(unknown, utf16("\ufeff<a/>"))),
    param("@f", 0, Buffer.concat([hex("f1 01 01"), utf16("d"), hex("01"), utf16("s"), u16(1),
      utf16("c")]), plp(unknown, utf16("<b>"), utf16("x</b>"))),
    param("@g", 0, hex("a5 ffff"), plp(unknown, hex("0102"), hex("03"))),
  ))[0]!.parameters;
  assert.deepEqual(values.map((p) => [p.type.sqlType, p.value]), [
    ["nvarchar(max)", "abcdé"], ["nvarchar(max)", "xyz"], ["nvarchar(max)", ""],
    ["nvarchar(max)", null], ["xml", "<a/>"], ["xml", "<b>x</b>"],
    ["varbinary(max)", hex("010203")],
  ]);
  const xml = columnTypeForParameter(values[4]!.type, "@e");
  assert.equal(xml.kind, "nvarchar_max");
});

test("varchar decodes with its collation's code page: CP1252, UTF-8, else Latin-1", () => {
  const varchar = (collation: string, bytes: Buffer) => parseRpcBatch(rpc(hex("ffff 0a00 0000"),
    param("@v", 0, Buffer.concat([hex("a7 1000"), hex(collation)]),
      Buffer.concat([u16(bytes.length), bytes]))))[0]!.parameters[0]!.value;
  const cp1252 = hex("80 e9 9c");
  assert.equal(varchar("0904d00034", cp1252), "€éœ"); // SQL_Latin1_General_CP1_CI_AS
  assert.equal(varchar("0904d00000", cp1252), "€éœ"); // Latin1_General_CI_AS
  assert.equal(varchar("0904d00400", Buffer.from("€☃", "utf8")), "€☃"); // *_UTF8 collation
  assert.equal(varchar("0804d00000", hex("e9")), "é"); // LCID 0x0408 (Greek): Latin-1 fallback
  assert.equal(varchar("0904d0001e", hex("41")), "A"); // SQL_Latin1_General_CP437: Latin-1
});

test("FreeTDS-style DECIMALN lengths (1 + bytes per precision) are accepted", () => {
  const decimal = (info: string, value: string) => parseRpcBatch(rpc(hex("ffff 0a00 0000"),
    param("@d", 0, hex(info), hex(value))))[0]!.parameters[0]!;
  // decimal(10, 2) = -12345678.90 in 1 + 5 bytes, as tds_numeric_bytes_per_prec gives.
  const d = decimal("6a 06 0a 02", "06 00 d2029649 00");
  assert.deepEqual([d.type.sqlType, d.value], ["decimal(10, 2)", -12345678.9]);
  assert.equal(decimal("6c 02 01 00", "02 01 09").value, 9);
  assert.equal(decimal("6c 11 26 26", "11 01" + "00".repeat(16)).value, 0);
});

test("values at each type's range edges are accepted", () => {
  const values = parseRpcBatch(rpc(hex("ffff 0a00 0000"),
    param("", 0, hex("28"), hex("03 000000")),
    param("", 0, hex("28"), hex("03 dab937")),
    param("", 0, hex("6f 08"), hex("08 7f242d00 ff818b01")),
    param("", 0, hex("3d"), hex("462effff 00000000")),
    param("", 0, hex("6f 04"), hex("04 ffff 9f05")),
    param("", 0, hex("29 07"), hex("05 ffbf692ac9")),
    param("", 0, hex("2b 07"), hex("0a 0000000000 000000 3c00")),
    param("", 0, hex("2b 00"), hex("08 000000 000000 4803")),
    param("", 0, hex("3c"), hex("ffffff7f ffffffff")),
    param("", 0, hex("7a"), hex("00000080")),
    param("", 0, hex("30"), hex("ff")),
    param("", 0, hex("7f"), hex("0000000000000080")),
    param("", 0, hex("32"), hex("07")),
    param("", 0, hex("3b"), hex("0000c03f")),
  ))[0]!.parameters;
  assert.deepEqual(values.map((p) => [p.type.sqlType, p.value]), [
    ["date", "0001-01-01"], ["date", "9999-12-31"],
    ["datetime", "9999-12-31 23:59:59.997"], ["datetime", "1753-01-01 00:00:00.000"],
    ["smalldatetime", "2079-06-06 23:59:00.000"], ["time(7)", "23:59:59.9999999"],
    ["datetimeoffset(7)", "0001-01-01 01:00:00.0000000 +01:00"],
    ["datetimeoffset(0)", "0001-01-01 14:00:00 +14:00"],
    ["money", 922337203685477.5807], ["smallmoney", -214748.3648], ["tinyint", 255],
    ["bigint", -9223372036854775808n], ["bit", 1], ["real", 1.5],
  ]);
});

// ---- malformed and impossible values ----

function violation(error: unknown): boolean {
  return error instanceof ProtocolViolation && error.reason === "rpc";
}

test("malformed RPCs and impossible values are ProtocolViolation('rpc')", () => {
  const body = (...params: Buffer[]) => rpc(hex("ffff 0a00 0000"), ...params);
  const cases: [string, Buffer][] = [
    ["no ALL_HEADERS", hex("0400")],
    ["nothing after ALL_HEADERS", rpc()],
    ["NameLen past the end", rpc(hex("0500 6100"))],
    ["zero-length name", rpc(hex("0000 0000"))],
    ["no OptionFlags", rpc(hex("ffff 0a00"))],
    ["unknown type 0x62 (sql_variant)", body(param("@a", 0, hex("62 10000000"), hex("00")))],
    ["TVP", body(param("@a", 0, hex("f3 00 00 00"), hex("")))],
    ["Always Encrypted", body(param("@a", 8, hex("26 04"), hex("04 01000000")))],
    ["INTN length 3", body(param("@a", 0, hex("26 03"), hex("03 010203")))],
    ["INTN value of 2 for size 4", body(param("@a", 0, hex("26 04"), hex("02 0100")))],
    ["value truncated", body(param("@a", 0, hex("26 04"), hex("04 0100")))],
    ["decimal(39)", body(param("@a", 0, hex("6a 11 27 00"), hex("00")))],
    ["decimal scale > precision", body(param("@a", 0, hex("6a 05 02 03"), hex("00")))],
    ["decimal over its precision", body(param("@a", 0, hex("6a 05 02 00"), hex("05 01 64000000")))],
    ["decimal sign 2", body(param("@a", 0, hex("6a 05 02 00"), hex("05 02 01000000")))],
    ["decimal value of 18 bytes", body(param("@a", 0, hex("6a 11 26 00"), hex("12 01" +
      "00".repeat(17))))],
    ["date after 9999-12-31", body(param("@a", 0, hex("28"), hex("03 dbb937")))],
    ["time of 24:00", body(param("@a", 0, hex("29 00"), hex("03 805101")))],
    ["time scale 8", body(param("@a", 0, hex("29 08"), hex("05 0000000000")))],
    ["datetime before 1753", body(param("@a", 0, hex("6f 08"), hex("08 00000080 00000000")))],
    ["datetime tick 300·86400", body(param("@a", 0, hex("6f 08"), hex("08 00000000 00828b01")))],
    ["smalldatetime minute 1440", body(param("@a", 0, hex("6f 04"), hex("04 0000 a005")))],
    ["datetimeoffset +15:00", body(param("@a", 0, hex("2b 00"), hex("08 000000 000000 8403")))],
    ["float NaN", body(param("@a", 0, hex("6d 08"), hex("08 000000000000f87f")))],
    ["nvarchar(4001)", body(param("@a", 0, hex("e7 a21f 0904d00034"), hex("0000")))],
    ["nchar max", body(param("@a", 0, hex("ef ffff 0904d00034"), hex("0000")))],
    ["nvarchar odd bytes", body(param("@a", 0, hex("e7 0400 0904d00034"), hex("0100 61")))],
    ["varchar value of 9000", body(param("@a", 0, hex("a7 1000 0904d00034"), hex("2823")))],
    ["PLP chunks over the total", body(param("@a", 0, hex("a5 ffff"),
      hex("0100000000000000 02000000 0102 00000000")))],
    ["PLP chunks under the total", body(param("@a", 0, hex("a5 ffff"),
      hex("0300000000000000 02000000 0102 00000000")))],
    ["PLP total beyond the message", body(param("@a", 0, hex("a5 ffff"),
      hex("00000000ffff0000 00000000")))],
    ["PLP without terminator", body(param("@a", 0, hex("a5 ffff"), hex("feffffffffffffff")))],
    ["XML schema flag 2", body(param("@a", 0, hex("f1 02"), hex("ffffffffffffffff")))],
    ["ntext past the end", body(param("@a", 0, hex("63 00000000 0904d00034"), hex("10000000")))],
  ];
  for (const [name, payload] of cases) {
    assert.throws(() => parseRpcBatch(payload), violation, name);
  }
});

test("caps: parameters per RPC and RPCs per message", () => {
  const tiny = param("", 0, hex("30"), hex("07")); // tinyint 7: 4 bytes
  const call = (count: number) => Buffer.concat([hex("ffff 0a00 0000"),
    ...new Array<Buffer>(count).fill(tiny)]);
  assert.equal(parseRpcBatch(rpc(call(RPC_PARAMETERS_MAX)))[0]!.parameters.length,
    RPC_PARAMETERS_MAX);
  assert.throws(() => parseRpcBatch(rpc(call(RPC_PARAMETERS_MAX + 1))), violation);
  const calls = (count: number) => rpc(...new Array<Buffer>(count).fill(
    Buffer.concat([call(0), hex("ff")])));
  assert.equal(parseRpcBatch(calls(RPCS_PER_MESSAGE_MAX)).length, RPCS_PER_MESSAGE_MAX);
  assert.throws(() => parseRpcBatch(calls(RPCS_PER_MESSAGE_MAX + 1)), violation);
  // A million 1-byte PLP chunks: one 1 MB value, no per-chunk objects.
  const chunks = Buffer.alloc(5 * 1_000_000);
  for (let at = 0; at < chunks.length; at += 5) chunks.writeUInt32LE(1, at);
  const [big] = parseRpcBatch(rpc(hex("ffff 0a00 0000"), param("", 0, hex("a5 ffff"),
    Buffer.concat([hex("feffffffffffffff"), chunks, u32(0)]))))[0]!.parameters;
  assert.equal((big!.value as Buffer).length, 1_000_000);
});

// ---- fuzz ----

const FUZZ_SEEDS: Buffer[] = [
  ...CASES.filter((c) => !(c.value instanceof Buffer) || c.value.length < 100)
    .map((c) => tediousExecSql("select @p", c.type, c.value, c.options)),
  ...NULLABLE_TYPES.map((type) => tediousExecSql("x", type, null, { output: true })),
  FREETDS_PREPEXEC,
  rpc(hex("ffff 0a00 0000"), param("@x", 0, hex("f1 01 01"), hex("00"))),
];

function mutate(random: ReturnType<typeof prng>, seed: Buffer): Buffer {
  switch (random.below(5)) {
    case 0: return Buffer.concat([ALL_HEADERS, random.bytes(random.below(120))]);
    case 1: return seed.subarray(0, random.below(seed.length + 1));
    default: {
      // Flip bytes after ALL_HEADERS mostly, so the deeper fields get exercised.
      const copy = Buffer.concat([seed, random.bytes(random.below(3))]);
      for (let flips = 1 + random.below(3); flips > 0; flips--) {
        const at = random.below(5) === 0 ? random.below(copy.length) :
          ALL_HEADERS.length + random.below(Math.max(1, copy.length - ALL_HEADERS.length));
        if (at < copy.length) copy[at] = random.below(3) === 0 ? 0xff : random.below(256);
      }
      return copy;
    }
  }
}

test("fuzz: parseRpcBatch only throws ProtocolViolation('rpc')", () => {
  const random = prng(0x5eed);
  let accepted = 0;
  let refused = 0;
  for (let round = 0; round < 20_000; round++) {
    const input = mutate(random, FUZZ_SEEDS[random.below(FUZZ_SEEDS.length)]!);
    try {
      for (const request of parseRpcBatch(input)) {
        for (const p of request.parameters) columnTypeForParameter(p.type, p.name);
      }
      accepted += 1;
    } catch (error) {
      assert.ok(violation(error), `${String(error)} on ${input.toString("hex").slice(0, 300)}`);
      refused += 1;
    }
  }
  assert.ok(accepted > 1000 && refused > 1000, `accepted ${accepted}, refused ${refused}`);
});

test("every prefix of every seed parses or is a ProtocolViolation", () => {
  for (const seed of FUZZ_SEEDS) {
    for (let end = 0; end < seed.length; end++) {
      try {
        parseRpcBatch(seed.subarray(0, end));
      } catch (error) {
        assert.ok(violation(error), `${String(error)} at ${end}`);
      }
    }
  }
});
