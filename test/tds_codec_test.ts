// Goal: the pure TDS codec speaks the bytes real clients expect and survives hostile input.
// Method: golden bytes derived by hand from MS-TDS for every token and message; inputs built by
// an independent encoder in this file and by tedious's own payload builders; our output decoded
// by tedious's token parser; framing checked at every split point; parsers fuzzed with a seeded
// PRNG to prove they only ever throw ProtocolViolation.
import { test } from "node:test";
import assert from "node:assert/strict";
import Login7Module from "tedious/lib/login7-payload.js";
import PreloginModule from "tedious/lib/prelogin-payload.js";
import SqlBatchModule from "tedious/lib/sqlbatch-payload.js";
import { Transaction as TediousTransaction } from "tedious/lib/transaction.js";
import {
  MessageEncoder, MessageReader, PacketStatus, PacketType, ProtocolViolation, encodeMessage,
  type IncomingMessage,
} from "../src/tds/packet.js";
import { Encryption, buildPreloginReply, parsePrelogin } from "../src/tds/prelogin.js";
import { parseLogin7 } from "../src/tds/login7.js";
import { parseSqlBatch, parseTransactionManagerRequest } from "../src/tds/requests.js";
import { COLLATION_LATIN1_CI_AS, DoneStatus, EnvChange, TokenWriter } from "../src/tds/tokens.js";
import { columnTypesFor, type ColumnType } from "../src/tds/types.js";
import { ValueConversionError } from "../src/tds/values.js";
import { hex, prng, tediousTokens, utf16 } from "./support/tds_bytes.js";

// ---- helpers ----

// tedious's CommonJS files end with `module.exports = TheClass`, so Node's default import is the
// class itself, while TypeScript types it as the exports object: re-type each one once here.
const TediousLogin7 = Login7Module as unknown as typeof Login7Module.default;
const TediousPrelogin = PreloginModule as unknown as typeof PreloginModule.default;
const TediousSqlBatch = SqlBatchModule as unknown as typeof SqlBatchModule.default;

/** One packet built by hand (independent of the encoder under test). */
function packet(type: number, status: number, payload: Buffer, id = 1): Buffer {
  const header = Buffer.from([type, status, 0, 0, 0, 0, id, 0]);
  header.writeUInt16BE(payload.length + 8, 2);
  return Buffer.concat([header, payload]);
}

function violation(reason: string): (error: unknown) => boolean {
  return (error) => error instanceof ProtocolViolation && error.reason === reason;
}

function drain(reader: MessageReader): IncomingMessage[] {
  const out: IncomingMessage[] = [];
  for (let message = reader.next(); message !== null; message = reader.next()) out.push(message);
  return out;
}

const LIMITS = { packetBytesMax: 4096, messageBytesMax: 1 << 20 };

// ---- packet framing ----

test("encodeMessage: an empty payload is one 8-byte EOM packet with the SPID big-endian", () => {
  assert.deepEqual(encodeMessage(PacketType.TABULAR_RESULT, Buffer.alloc(0), 4096, 0x0135),
    hex("04 01 0008 0135 01 00"));
});

test("encodeMessage: splits at the packet size, EOM only on the last, ids from 1", () => {
  const out = encodeMessage(0x04, Buffer.from("abcdefghij"), 12, 7);
  assert.deepEqual(out, Buffer.concat([
    hex("04 00 000c 0007 01 00"), Buffer.from("abcd"),
    hex("04 00 000c 0007 02 00"), Buffer.from("efgh"),
    hex("04 01 000a 0007 03 00"), Buffer.from("ij"),
  ]));
  // Exactly one full packet's payload still makes a single packet.
  assert.deepEqual(encodeMessage(0x04, Buffer.from("abcd"), 12, 0),
    Buffer.concat([hex("04 01 000c 0000 01 00"), Buffer.from("abcd")]));
});

test("encodeMessage: PacketID wraps mod 256", () => {
  const out = encodeMessage(0x04, Buffer.alloc(300), 9, 0);
  assert.equal(out.length, 300 * 9);
  assert.deepEqual([1, 254, 255, 256, 299].map((i) => out[i * 9 + 6]), [2, 255, 0, 1, 44]);
  assert.equal(out[299 * 9 + 1], PacketStatus.EOM);
  assert.equal(out[298 * 9 + 1], 0);
});

test("MessageEncoder: streamed pushes give the same bytes as one encodeMessage", () => {
  const random = prng(7);
  for (let round = 0; round < 200; round++) {
    const payload = random.bytes(random.below(3000));
    const size = 9 + random.below(600);
    const encoder = new MessageEncoder(0x04, size, 3);
    const parts: Buffer[] = [];
    for (let at = 0; at < payload.length;) {
      const step = random.below(700);
      parts.push(encoder.push(payload.subarray(at, at + step)));
      at += step;
    }
    parts.push(encoder.finish());
    assert.deepEqual(Buffer.concat(parts), encodeMessage(0x04, payload, size, 3));
  }
});

/** A stream of several messages: multi-packet, reset bit, ignore bit, an attention between. */
function sampleStream(): { bytes: Buffer; expected: IncomingMessage[] } {
  const big = prng(1).bytes(10000);
  const bytes = Buffer.concat([
    packet(PacketType.SQL_BATCH, PacketStatus.RESET_CONNECTION, big.subarray(0, 4000), 1),
    packet(PacketType.SQL_BATCH, 0, big.subarray(4000, 8000), 2),
    packet(PacketType.SQL_BATCH, PacketStatus.EOM, big.subarray(8000), 3),
    packet(PacketType.ATTENTION, PacketStatus.EOM, Buffer.alloc(0)),
    packet(PacketType.RPC, 0, Buffer.from("par")),
    packet(PacketType.RPC, PacketStatus.EOM | PacketStatus.IGNORE, Buffer.from("tial")),
    packet(PacketType.LOGIN7, PacketStatus.EOM | PacketStatus.RESET_CONNECTION_SKIP_TRAN,
      Buffer.from("x")),
  ]);
  const expected: IncomingMessage[] = [
    { type: PacketType.SQL_BATCH, payload: big, ignore: false, resetConnection: true },
    { type: PacketType.ATTENTION, payload: Buffer.alloc(0), ignore: false, resetConnection: false },
    { type: PacketType.RPC, payload: Buffer.from("partial"), ignore: true, resetConnection: false },
    { type: PacketType.LOGIN7, payload: Buffer.from("x"), ignore: false, resetConnection: true },
  ];
  return { bytes, expected };
}

test("MessageReader: whole, byte by byte and random splits give the same messages", () => {
  const { bytes, expected } = sampleStream();
  const whole = new MessageReader(LIMITS);
  whole.push(bytes);
  assert.deepEqual(drain(whole), expected);

  const single = new MessageReader(LIMITS);
  const got: IncomingMessage[] = [];
  for (let i = 0; i < bytes.length; i++) {
    single.push(bytes.subarray(i, i + 1));
    got.push(...drain(single));
  }
  assert.deepEqual(got, expected);

  const random = prng(42);
  for (let round = 0; round < 100; round++) {
    const reader = new MessageReader(LIMITS);
    const split: IncomingMessage[] = [];
    for (let at = 0; at < bytes.length;) {
      const step = 1 + random.below(random.below(2) === 0 ? 16 : 5000);
      reader.push(bytes.subarray(at, at + step));
      at += step;
      split.push(...drain(reader));
    }
    assert.deepEqual(split, expected);
    assert.equal(reader.bufferedBytes, 0);
  }
});

test("MessageReader: holds at most one partial packet plus the message being assembled", () => {
  const { bytes } = sampleStream();
  const reader = new MessageReader(LIMITS);
  for (let at = 0; at < bytes.length; at += 1000) {
    reader.push(bytes.subarray(at, at + 1000));
    drain(reader);
    assert.ok(reader.bufferedBytes <= 4096 + 10000, `buffered ${reader.bufferedBytes}`);
  }
});

test("MessageReader: assembling many packets is linear", () => {
  const chunk = Buffer.alloc(4088, 0x41);
  const packets = 2000; // an 8 MB message
  const one = packet(PacketType.SQL_BATCH, 0, chunk);
  const reader = new MessageReader({ packetBytesMax: 4096, messageBytesMax: 16 << 20 });
  const started = process.hrtime.bigint();
  for (let i = 0; i < packets - 1; i++) {
    reader.push(one);
    assert.equal(reader.next(), null);
  }
  reader.push(packet(PacketType.SQL_BATCH, PacketStatus.EOM, chunk));
  const message = reader.next();
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(message?.payload.length, packets * 4088);
  assert.ok(elapsedMs < 2000, `took ${elapsedMs} ms`);
});

test("MessageReader: every framing violation is a ProtocolViolation with its reason", () => {
  const cases: [string, Buffer, string][] = [
    ["length below the header", hex("01 01 0007 0000 01 00"), "packet-length"],
    ["length over packetBytesMax", hex("01 01 1001 0000 01 00"), "packet-length"],
    ["type change inside a message", Buffer.concat([packet(0x01, 0, Buffer.from("a")),
      packet(0x03, 1, Buffer.from("b"))]), "type-changed"],
    ["attention inside a message", Buffer.concat([packet(0x01, 0, Buffer.from("a")),
      packet(0x06, 1, Buffer.alloc(0))]), "type-changed"],
    // Only the header of the oversized packet: refused before its payload is buffered.
    ["message over messageBytesMax", Buffer.concat([packet(0x01, 0, Buffer.alloc(600)),
      hex("01 01 0200 0000 02 00")]), "message-too-large"],
  ];
  for (const [name, bytes, reason] of cases) {
    const reader = new MessageReader({ packetBytesMax: 4096, messageBytesMax: 1000 });
    reader.push(bytes);
    assert.throws(() => drain(reader), violation(reason), name);
  }
  // setLimits raises the packet size, e.g. after login negotiated a larger one.
  const reader = new MessageReader({ packetBytesMax: 512, messageBytesMax: 1 << 20 });
  reader.setLimits({ packetBytesMax: 32767, messageBytesMax: 1 << 20 });
  reader.push(packet(0x01, PacketStatus.EOM, Buffer.alloc(20000)));
  assert.equal(reader.next()?.payload.length, 20000);
});

test("MessageReader: random input yields messages or ProtocolViolation, nothing else", () => {
  const random = prng(99);
  for (let round = 0; round < 2000; round++) {
    const reader = new MessageReader({ packetBytesMax: 512, messageBytesMax: 2048 });
    try {
      reader.push(random.bytes(random.below(3000)));
      drain(reader);
    } catch (error) {
      assert.ok(error instanceof ProtocolViolation, String(error));
    }
  }
});

// ---- PRELOGIN ----

test("buildPreloginReply: golden bytes, and tedious parses it", () => {
  const reply = buildPreloginReply({ version: [16, 0, 1000, 0], encryption: Encryption.NOT_SUP });
  assert.deepEqual(reply, hex("00 001a 0006  01 0020 0001  02 0021 0001  03 0022 0000" +
    "  04 0022 0001  ff  10 00 03e8 0000  02  00  00"));
  const parsed = new TediousPrelogin(reply);
  assert.deepEqual(parsed.version, { major: 16, minor: 0, build: 1000, subbuild: 0 });
  assert.equal(parsed.encryption, Encryption.NOT_SUP);
  assert.equal(parsed.mars, 0);
  assert.deepEqual(parsePrelogin(reply), { version: hex("10 00 03e8 0000"),
    encryption: 2, instance: "", threadId: null, mars: 0 });
});

test("parsePrelogin: tedious's and a FreeTDS-like PRELOGIN", () => {
  const tedious = new TediousPrelogin({ encrypt: true,
    version: { major: 19, minor: 2, build: 2, subbuild: 0 } });
  const fromTedious = parsePrelogin(tedious.data);
  assert.equal(fromTedious.encryption, Encryption.ON);
  assert.equal(fromTedious.mars, 0);
  assert.deepEqual(fromTedious.version, hex("13 02 0002 0000"));

  const data = [hex("09 00 0000 0000"), hex("00"), Buffer.from("MSSQLServer\0"),
    hex("0000 3039"), hex("00")];
  const table = Buffer.alloc(26);
  let offset = 26;
  data.forEach((part, token) => {
    table[token * 5] = token;
    table.writeUInt16BE(offset, token * 5 + 1);
    table.writeUInt16BE(part.length, token * 5 + 3);
    offset += part.length;
  });
  table[25] = 0xff;
  assert.deepEqual(parsePrelogin(Buffer.concat([table, ...data])), { version: data[0],
    encryption: Encryption.OFF, instance: "MSSQLServer", threadId: 12345, mars: 0 });
});

test("parsePrelogin: bad tables are ProtocolViolation('prelogin')", () => {
  for (const bad of [hex(""), hex("00 0005 0001"), hex("00 0006 0001 ff"), hex("01 00"),
    hex("01 0006 0000 ff")]) {
    assert.throws(() => parsePrelogin(bad), violation("prelogin"), bad.toString("hex"));
  }
});

// ---- LOGIN7 ----

interface LoginSpec {
  readonly tdsVersion?: number;
  readonly strings?: Partial<Record<"host" | "user" | "password" | "app" | "server" | "library" |
    "language" | "database", string>>;
  readonly features?: readonly { id: number; data: Buffer }[];
  readonly sspi?: Buffer;
}

const PAIRS = { host: 36, user: 40, password: 44, app: 48, server: 52, library: 60,
  language: 64, database: 68 } as const;

/** Scrambles like a client: swap nibbles, then XOR 0xA5. */
function scramble(bytes: Buffer): Buffer {
  return Buffer.from(bytes.map((b) => (((b << 4) & 0xf0) | (b >> 4)) ^ 0xa5));
}

/** An independent LOGIN7 encoder (MS-TDS 2.2.6.4), 94-byte fixed part. */
function buildLogin7(spec: LoginSpec): Buffer {
  const fixed = Buffer.alloc(94);
  const tail: Buffer[] = [];
  let offset = 94;
  const place = (pairAt: number, data: Buffer, count: number): void => {
    fixed.writeUInt16LE(offset, pairAt);
    fixed.writeUInt16LE(count, pairAt + 2);
    tail.push(data);
    offset += data.length;
  };
  fixed.writeUInt32LE(spec.tdsVersion ?? 0x74000004, 4);
  fixed.writeUInt32LE(4096, 8);
  fixed.writeUInt32LE(1234, 16);
  for (const [key, pairAt] of Object.entries(PAIRS)) {
    const text = spec.strings?.[key as keyof typeof PAIRS] ?? "";
    const data = key === "password" ? scramble(utf16(text)) : utf16(text);
    place(pairAt, data, text.length);
  }
  if (spec.sspi !== undefined) place(78, spec.sspi, spec.sspi.length);
  if (spec.features !== undefined) {
    fixed[27] = 0x10;
    const pointer = Buffer.alloc(4);
    place(56, pointer, 4);
    pointer.writeUInt32LE(offset);
    for (const feature of spec.features) {
      const head = Buffer.alloc(5);
      head[0] = feature.id;
      head.writeUInt32LE(feature.data.length, 1);
      tail.push(head, feature.data);
    }
    tail.push(hex("ff"));
  }
  const login = Buffer.concat([fixed, ...tail]);
  login.writeUInt32LE(login.length, 0);
  return login;
}

test("parseLogin7: a hand-built login with every string, SSPI and features", () => {
  const strings = { host: "h0st", user: "sa", password: "S3cret!€", app: "TSQL",
    server: "127.0.0.1", library: "TDS-Library", language: "us_english", database: "testdb" };
  const login = parseLogin7(buildLogin7({ strings, sspi: hex("0102"),
    features: [{ id: 0x0a, data: hex("01") }, { id: 0x02, data: hex("aabbcc") }] }));
  assert.deepEqual({ host: login.hostName, user: login.userName, password: login.password,
    app: login.appName, server: login.serverName, library: login.libraryName,
    language: login.language, database: login.database }, strings);
  assert.equal(login.tdsVersion, 0x74000004);
  assert.equal(login.packetSize, 4096);
  assert.equal(login.clientPid, 1234);
  assert.equal(login.sspiBytes, 2);
  assert.deepEqual(login.features, [{ id: 0x0a, data: hex("01") }, { id: 0x02,
    data: hex("aabbcc") }]);
});

test("parseLogin7: tedious's own LOGIN7", () => {
  const payload = new TediousLogin7({ tdsVersion: 0x74000004, packetSize: 4096,
    clientProgVer: 0, clientPid: 42, connectionId: 0, clientTimeZone: 0, clientLcid: 0x409 });
  Object.assign(payload, { userName: "sa", password: "p@ss wörd", database: "db1",
    appName: "Tedious", libraryName: "Tedious", hostname: "box", serverName: "srv",
    language: "us_english", readOnlyIntent: true });
  const login = parseLogin7(payload.toBuffer());
  assert.equal(login.userName, "sa");
  assert.equal(login.password, "p@ss wörd");
  assert.equal(login.database, "db1");
  assert.equal(login.appName, "Tedious");
  assert.equal(login.libraryName, "Tedious");
  assert.equal(login.hostName, "box");
  assert.equal(login.readOnlyIntent, true);
  assert.equal(login.integratedSecurity, false);
  assert.ok(login.features.some((feature) => feature.id === 0x0a), "UTF8_SUPPORT requested");
  // Without a host name tedious 19 writes the data offset as cchHostName: read as empty.
  const bare = new TediousLogin7({ tdsVersion: 0x74000004, packetSize: 4096, clientProgVer: 0,
    clientPid: 1, connectionId: 0, clientTimeZone: 0, clientLcid: 0 }).toBuffer();
  assert.equal(bare.readUInt16LE(38), 94);
  assert.equal(parseLogin7(bare).hostName, "");
});

test("parseLogin7: each lie is ProtocolViolation('login7') naming the field", () => {
  const good = buildLogin7({ strings: { user: "sa", password: "x" },
    features: [{ id: 0x0a, data: hex("01") }] });
  const mutate = (edit: (login: Buffer) => void): Buffer => {
    const copy = Buffer.from(good);
    edit(copy);
    return copy;
  };
  const cases: [RegExp, Buffer][] = [
    [/Length/, good.subarray(0, 3)],
    [/Length/, good.subarray(0, good.length - 1)],
    [/fixed part/, mutate((l) => l.writeUInt32LE(80, 0))],
    [/UserName/, mutate((l) => l.writeUInt16LE(0xfff0, 40))],
    [/Password/, mutate((l) => l.writeUInt16LE(0x7fff, 46))],
    [/Database/, mutate((l) => { l.writeUInt16LE(good.length, 68); l.writeUInt16LE(1, 70); })],
    [/SSPI/, mutate((l) => { l.writeUInt16LE(good.length - 4, 78); l.writeUInt16LE(9, 80); })],
    [/Extension/, mutate((l) => l.writeUInt16LE(good.length - 2, 56))],
    [/FeatureExt/, mutate((l) => l.writeUInt32LE(good.length, l.readUInt16LE(56)))],
    // The last bytes are: id 0x0A, its u32 length, one data byte, 0xFF.
    [/FeatureExt 0xa/, mutate((l) => l.writeUInt32LE(100, good.length - 6))],
    [/terminator/, mutate((l) => { l[good.length - 1] = 0x0b; })],
  ];
  for (const [field, bytes] of cases) {
    assert.throws(() => parseLogin7(bytes), (error) => error instanceof ProtocolViolation &&
      error.reason === "login7" && field.test(error.message), String(field));
  }
});

// ---- SQL batch and Transaction Manager ----

function tediousPayload(parts: Iterable<Buffer>): Buffer {
  return Buffer.concat([...parts]);
}

test("parseSqlBatch: tedious's batch with its transaction descriptor", () => {
  const descriptor = hex("0102030405060708");
  const batch = parseSqlBatch(tediousPayload(new TediousSqlBatch("select N'ü', 1", descriptor,
    { tdsVersion: "7_4" })));
  assert.deepEqual(batch, { transactionDescriptor: descriptor, sql: "select N'ü', 1" });
});

test("parseSqlBatch: ALL_HEADERS and text violations", () => {
  const cases: [Buffer, string][] = [
    [hex("0400"), "all-headers"],
    [hex("03000000"), "all-headers"],
    [hex("09000000 0500"), "all-headers"],
    [hex("0a000000 05000000 0200"), "all-headers"], // header Length below 6
    [hex("10000000 0c000000 0200 0000000000000000"), "all-headers"], // header beyond Total
    [hex("0c000000 08000000 0200 0000"), "all-headers"], // descriptor header too short
    [hex("04000000 610062"), "sql-batch"],
  ];
  for (const [bytes, reason] of cases) {
    assert.throws(() => parseSqlBatch(bytes), violation(reason), bytes.toString("hex"));
  }
  assert.deepEqual(parseSqlBatch(Buffer.concat([hex("04000000"), utf16("go")])),
    { transactionDescriptor: null, sql: "go" });
});

test("parseTransactionManagerRequest: tedious's begin, commit, rollback and save", () => {
  const descriptor = hex("1111111122222222");
  const tx = new TediousTransaction("t1", 2);
  const parse = (parts: Iterable<Buffer>) => parseTransactionManagerRequest(tediousPayload(parts));
  assert.deepEqual(parse(tx.beginPayload(descriptor)), { transactionDescriptor: descriptor,
    requestType: 5, isolationLevel: 2, name: "t1", flags: 0, beginAfter: null });
  assert.deepEqual(parse(tx.commitPayload(descriptor)), { transactionDescriptor: descriptor,
    requestType: 7, isolationLevel: 0, name: "t1", flags: 0, beginAfter: null });
  assert.deepEqual(parse(tx.rollbackPayload(descriptor)), { transactionDescriptor: descriptor,
    requestType: 8, isolationLevel: 0, name: "t1", flags: 0, beginAfter: null });
  assert.deepEqual(parse(tx.savePayload(descriptor)), { transactionDescriptor: descriptor,
    requestType: 9, isolationLevel: 0, name: "t1", flags: 0, beginAfter: null });
  const chained = Buffer.concat([hex("04000000 0700 00 01 03 02"), utf16("n")]);
  assert.deepEqual(parseTransactionManagerRequest(chained).beginAfter,
    { isolationLevel: 3, name: "n" });
  assert.equal(parseTransactionManagerRequest(hex("04000000 0000")).requestType, 0);
  for (const bad of ["04000000 0500 02 04 6100", "04000000 0500 02 03 610062"]) {
    assert.throws(() => parseTransactionManagerRequest(hex(bad)), violation("transaction-manager"),
      bad);
  }
});

// ---- tokens: golden bytes ----

test("DONE, DONEPROC, DONEINPROC golden bytes", () => {
  const writer = new TokenWriter()
    .done(DoneStatus.COUNT, 0xc1, 3)
    .doneInProc(DoneStatus.MORE | DoneStatus.COUNT, 0xc1, 2n ** 40n)
    .doneProc(DoneStatus.ERROR | DoneStatus.SRVERROR, 0xe0, 0);
  assert.deepEqual(writer.take(), hex("fd 1000 c100 0300000000000000" +
    "ff 1100 c100 0000000000010000  fe 0201 e000 0000000000000000"));
  assert.equal(writer.byteLength, 0);
});

test("LOGINACK, ENVCHANGE, INFO, ERROR, FEATUREEXTACK golden bytes", () => {
  const w = new TokenWriter();
  assert.deepEqual(w.loginAck("M", [16, 0, 1000, 0]).take(),
    hex("ad 0c00 01 74000004 01 4d00 10 00 03 e8"));
  assert.deepEqual(w.envChangeString(EnvChange.DATABASE, "db", "m").take(),
    hex("e3 0900 01 02 64006200 01 6d00"));
  assert.deepEqual(w.envChangeBytes(EnvChange.COLLATION, COLLATION_LATIN1_CI_AS,
    Buffer.alloc(0)).take(), hex("e3 0800 07 05 0904d00034 00"));
  assert.deepEqual(w.envRouting("h", 1433).take(),
    hex("e3 0c00 14 0700 00 9905 0100 6800 0000"));
  const message = { number: 5701, state: 2, severity: 0, text: "x", serverName: "s",
    procName: "", line: 1 };
  assert.deepEqual(w.info(message).take(),
    hex("ab 1200 45160000 02 00 0100 7800 01 7300 00 01000000"));
  assert.equal(w.error(message).take()[0], 0xaa);
  assert.deepEqual(w.featureExtAckUtf8().take(), hex("ae 0a 01000000 00 ff"));
});

test("COLMETADATA, ROW, NBCROW and PLP golden bytes", () => {
  const columns: ColumnType[] = [
    { name: "a", kind: "int", nullable: true },
    { name: "b", kind: "nvarchar", maxChars: 10, nullable: true },
    { name: "c", kind: "varbinary_max", nullable: false },
  ];
  const w = new TokenWriter().colMetadata(columns);
  assert.deepEqual(w.take(), hex("81 0300" + "00000000 0100 26 04 01 6100" +
    "00000000 0100 e7 1400 0904d00034 01 6200" + "00000000 0000 a5 ffff 01 6300"));
  assert.deepEqual(w.row(columns, [5, "hi", hex("010203")]).take(), hex("d1 04 05000000" +
    " 0400 68006900  0300000000000000 03000000 010203 00000000"));
  assert.deepEqual(w.row(columns, [null, "hi", hex("")]).take(),
    hex("d2 01 0400 68006900 0000000000000000 00000000"));
});

test("names over 128 units, long messages and big PLP values are clipped or chunked", () => {
  const w = new TokenWriter();
  const meta = w.colMetadata([{ name: "n".repeat(300), kind: "bit", nullable: true }]).take();
  assert.equal(meta[11], 128);
  const info = w.info({ number: 1, state: 1, severity: 10, text: "y".repeat(70000),
    serverName: "s", procName: "p", line: 0 }).take();
  assert.equal(info.readUInt16LE(1), info.length - 3);
  const text = "z".repeat(10000);
  const row = w.row([{ name: "t", kind: "nvarchar_max", nullable: true }], [text]).take();
  // u64 total, chunks of 8000, 8000 and 4000 bytes, terminator.
  assert.equal(row.readBigUInt64LE(1), 20000n);
  assert.equal(row.readUInt32LE(9), 8000);
  assert.equal(row.readUInt32LE(13 + 8000), 8000);
  assert.equal(row.readUInt32LE(17 + 16000), 4000);
  assert.equal(row.readUInt32LE(21 + 20000), 0);
  assert.equal(row.length, 25 + 20000);
  // Lone surrogates pass through as the code units they are (2 bytes each).
  const lone = w.row([{ name: "s", kind: "nvarchar", maxChars: 2, nullable: true }], ["\ud800x"]);
  assert.deepEqual(lone.take(), hex("d1 0400 00d8 7800"));
});

// ---- tokens: decoded by tedious ----

test("tedious decodes a login response", async () => {
  const payload = new TokenWriter()
    .envChangeString(EnvChange.DATABASE, "testdb", "master")
    .info({ number: 5701, state: 2, severity: 0, text: "Changed database context to 'testdb'.",
      serverName: "mirrorlite", procName: "", line: 1 })
    .envChangeBytes(EnvChange.COLLATION, COLLATION_LATIN1_CI_AS, Buffer.alloc(0))
    .envChangeString(EnvChange.MIRROR_PARTNER, "partner,1434", "")
    .loginAck("Microsoft SQL Server", [16, 0, 1000, 0])
    .envChangeString(EnvChange.PACKET_SIZE, "4096", "4096")
    .envRouting("10.0.0.2", 1500)
    .featureExtAckUtf8()
    .done(DoneStatus.FINAL, 0, 0)
    .take();
  const tokens = await tediousTokens(payload);
  assert.deepEqual(tokens.map((token) => token["name"]), ["ENVCHANGE", "INFO", "ENVCHANGE",
    "ENVCHANGE", "LOGINACK", "ENVCHANGE", "ENVCHANGE", "FEATUREEXTACK", "DONE"]);
  assert.equal(tokens[0]!["newValue"], "testdb");
  assert.equal(tokens[1]!["message"], "Changed database context to 'testdb'.");
  assert.equal(tokens[3]!["newValue"], "partner,1434");
  assert.equal(tokens[4]!["tdsVersion"], "7_4");
  assert.equal(tokens[4]!["interface"], "SQL_TSQL");
  assert.deepEqual(tokens[4]!["progVersion"], { major: 16, minor: 0, buildNumHi: 3,
    buildNumLow: 0xe8 });
  assert.equal(tokens[5]!["newValue"], 4096);
  assert.deepEqual(tokens[6]!["newValue"], { protocol: 0, port: 1500, server: "10.0.0.2" });
});

test("tedious decodes transaction, error and procedure tokens", async () => {
  const descriptor = hex("0100000000000000");
  const payload = new TokenWriter()
    .envChangeBytes(EnvChange.BEGIN_TRAN, descriptor, Buffer.alloc(0))
    .envChangeBytes(EnvChange.COMMIT_TRAN, Buffer.alloc(0), descriptor)
    .envChangeBytes(EnvChange.RESET_ACK, Buffer.alloc(0), Buffer.alloc(0))
    .error({ number: 50000, state: 3, severity: 16, text: "boom", serverName: "srv",
      procName: "p", line: 7 })
    .doneInProc(DoneStatus.MORE | DoneStatus.ERROR, 0xc1, 0)
    .returnStatus(-6)
    .returnValue(0, "@handle", { name: "", kind: "int", nullable: true }, 1)
    .returnValue(1, "@out", { name: "", kind: "nvarchar", maxChars: 5, nullable: true }, null)
    .doneProc(DoneStatus.FINAL, 0xe0, 0)
    .take();
  const tokens = await tediousTokens(payload);
  assert.deepEqual(tokens.map((token) => token["name"]), ["ENVCHANGE", "ENVCHANGE", "ENVCHANGE",
    "ERROR", "DONEINPROC", "RETURNSTATUS", "RETURNVALUE", "RETURNVALUE", "DONEPROC"]);
  assert.equal(tokens[0]!["type"], "BEGIN_TXN");
  assert.deepEqual(tokens[0]!["newValue"], descriptor);
  assert.deepEqual(tokens[1]!["oldValue"], descriptor);
  assert.equal(tokens[2]!["type"], "RESET_CONNECTION");
  assert.deepEqual([tokens[3]!["number"], tokens[3]!["state"], tokens[3]!["class"],
    tokens[3]!["message"], tokens[3]!["procName"], tokens[3]!["lineNumber"]],
  [50000, 3, 16, "boom", "p", 7]);
  assert.equal(tokens[4]!["sqlError"], true);
  assert.equal(tokens[5]!["value"], -6);
  assert.deepEqual([tokens[6]!["paramName"], tokens[6]!["value"]], ["handle", 1]);
  assert.deepEqual([tokens[7]!["paramName"], tokens[7]!["value"]], ["out", null]);
});

test("tedious decodes typed rows, NULLs and PLP values", async () => {
  const declared = [
    { name: "ti", type: "TINYINT" }, { name: "si", type: "SMALLINT" }, { name: "i", type: "INT" },
    { name: "bi", type: "BIGINT" }, { name: "b", type: "BIT" }, { name: "r", type: "REAL" },
    { name: "f", type: "FLOAT" }, { name: "s", type: "NVARCHAR(20)" },
    { name: "m", type: "NVARCHAR(2147483647)" }, { name: "v", type: "VARBINARY(4)" },
    { name: "vm", type: "VARBINARY(2147483647)" },
  ];
  const long = "ü".repeat(9000);
  const rows = [
    [255, -32768, -5, 9007199254740993n, 1, 1.5, 0.1, "héllo", long, hex("0a0b"), hex("ff")],
    [null, null, null, null, null, null, null, null, null, null, null],
  ];
  const columns = columnTypesFor(declared, rows);
  const writer = new TokenWriter().colMetadata(columns);
  for (const row of rows) writer.row(columns, row);
  const tokens = await tediousTokens(writer.done(DoneStatus.COUNT, 0xc1, 2).take());
  assert.deepEqual(tokens.map((token) => token["name"]), ["COLMETADATA", "ROW", "NBCROW", "DONE"]);
  const values = (index: number) =>
    (tokens[index]!["columns"] as { value: unknown }[]).map((cell) => cell.value);
  assert.deepEqual(values(1), [255, -32768, -5, "9007199254740993", true, 1.5, 0.1, "héllo",
    long, hex("0a0b"), hex("ff")]);
  assert.deepEqual(values(2), new Array(11).fill(null));
  assert.equal(tokens[3]!["rowCount"], 2);
});

// ---- column types ----

test("columnTypesFor: declared types, widening by values, expressions", () => {
  const kindOf = (type: string | null, values: unknown[]) => {
    const [column] = columnTypesFor([{ name: "c", type }], values.map((value) => [value]));
    const { kind, maxChars, maxBytes } = column!;
    return [kind, maxChars ?? maxBytes ?? null];
  };
  const cases: [string | null, unknown[], [string, number | null]][] = [
    ["INT", [1, "x"], ["nvarchar", 4000]],
    ["INT", [1, 2 ** 40], ["bigint", null]],
    ["INT", [5n, 2n ** 40n], ["bigint", null]],
    ["INT", [1, 1.5], ["float", null]],
    ["INT", [2 ** 63], ["float", null]],
    ["INT", [hex("00")], ["varbinary_max", null]],
    ["TINYINT", [-1], ["smallint", null]],
    ["SMALLINT", [70000], ["int", null]],
    ["BIT", [0, 1, null], ["bit", null]],
    ["BIT", [2], ["int", null]],
    ["REAL", [1.5], ["real", null]],
    ["REAL", [1e300], ["float", null]],
    ["FLOAT", [1], ["float", null]],
    ["float(24)", [1], ["real", null]],
    ["NVARCHAR(2147483647)", ["a"], ["nvarchar_max", null]],
    ["NVARCHAR(50)", ["a"], ["nvarchar", 50]],
    ["NVARCHAR(5)", ["abcdef"], ["nvarchar_max", null]],
    ["VARCHAR(20)", [12345], ["varchar", 20]],
    ["TEXT", ["a"], ["nvarchar_max", null]],
    ["TEXT", [hex("00"), "a"], ["nvarchar_max", null]],
    ["DATETIME2", ["2024-01-01 10:00:00"], ["datetime2", null]],
    ["DATETIME2", ["tomorrow"], ["nvarchar", 4000]],
    ["VARBINARY(2147483647)", [hex("00")], ["varbinary_max", null]],
    ["VARBINARY(2)", [hex("000102")], ["varbinary_max", null]],
    ["VARBINARY(16)", [hex("00")], ["varbinary", 16]],
    ["VARBINARY(16)", ["x"], ["nvarchar", 4000]],
    ["DECIMAL(10,2)", [1.5], ["decimal", null]],
    ["DECIMAL(10,2)", [null], ["decimal", null]],
    [null, [1, 2], ["int", null]],
    [null, [1, 2 ** 40], ["bigint", null]],
    [null, [1, 0.5], ["float", null]],
    [null, ["abc", 1], ["nvarchar", 4000]],
    [null, ["x".repeat(4001)], ["nvarchar_max", null]],
    [null, [hex("00")], ["varbinary", 8000]],
    [null, [Buffer.alloc(8001)], ["varbinary_max", null]],
    [null, [null], ["int", null]],
    [null, [], ["int", null]],
  ];
  for (const [type, values, expected] of cases) {
    assert.deepEqual(kindOf(type, values), expected, `${type} ${values.join(",").slice(0, 40)}`);
  }
  assert.equal(columnTypesFor([{ name: "n", type: "INT" }], [])[0]!.nullable, true);
});

const TYPES = ["INT", "BIGINT", "TINYINT", "SMALLINT", "BIT", "REAL", "FLOAT", "NVARCHAR(3)",
  "VARCHAR(MAX)", "TEXT", "VARBINARY(2)", "BLOB", "DECIMAL(5,2)", "DATE", "GEOGRAPHY", null];

function randomValue(random: ReturnType<typeof prng>): unknown {
  switch (random.below(11)) {
    case 0: return null;
    case 1: return random.below(3);
    case 2: return random.below(600) - 300;
    case 3: return (random.below(2) === 0 ? -1 : 1) * 2 ** random.below(70);
    case 4: return random.below(1000) / 7;
    case 5: return BigInt(random.below(1 << 30)) ** BigInt(1 + random.below(2));
    case 6: return "s".repeat(random.below(6));
    case 7: return random.bytes(random.below(5));
    case 8: return 1e300;
    case 9: return "x".repeat(random.below(2) === 0 ? 1 : 4100);
    default: return random.below(2) === 0;
  }
}

test("columnTypesFor: every row of its columns converts (random tables)", () => {
  const random = prng(2024);
  for (let round = 0; round < 1500; round++) {
    const declared = [{ name: "c", type: TYPES[random.below(TYPES.length)] ?? null }];
    const rows = Array.from({ length: random.below(5) }, () => [randomValue(random)]);
    const columns = columnTypesFor(declared, rows);
    const writer = new TokenWriter().colMetadata(columns);
    for (const row of rows) writer.row(columns, row); // throws on any conversion failure
  }
});

test("row(): a value that does not fit fails like SQL Server and writes nothing", () => {
  const int: ColumnType[] = [{ name: "i", kind: "int", nullable: true }];
  const w = new TokenWriter().colMetadata(int);
  const before = w.byteLength;
  const failsWith = (columns: ColumnType[], value: unknown, number: number) =>
    assert.throws(() => w.row(columns, [value]),
      (error) => error instanceof ValueConversionError && error.number === number);
  failsWith(int, "abc", 245);
  failsWith(int, 2 ** 31, 8115);
  failsWith(int, hex("00"), 257);
  failsWith([{ name: "s", kind: "nvarchar", maxChars: 2, nullable: true }], "abc", 8152);
  failsWith([{ name: "b", kind: "varbinary", maxBytes: 1, nullable: true }], hex("0001"), 8152);
  assert.equal(w.byteLength, before);
  assert.deepEqual(w.take().subarray(before), Buffer.alloc(0));
  assert.deepEqual(new TokenWriter().row(int, [" 42 "]).take(), hex("d1 04 2a000000"));
  assert.deepEqual(new TokenWriter().row(int, [-2.7]).take(), hex("d1 04 feffffff"));
});

// ---- fuzz: parsers only ever throw ProtocolViolation ----

/** Mutated seeds and noise; `fixUp` may repair a length field so deeper fields get reached. */
function fuzz(name: string, seeds: Buffer[], parse: (payload: Buffer) => unknown,
  fixUp: (input: Buffer) => void = () => undefined): void {
  test(`fuzz: ${name} only throws ProtocolViolation`, () => {
    const random = prng(name.length * 7919);
    let accepted = 0;
    let refused = 0;
    for (let round = 0; round < 3000; round++) {
      const input = mutateInput(random, seeds[random.below(seeds.length)]!);
      if (round % 2 === 0) fixUp(input);
      try {
        parse(input);
        accepted += 1;
      } catch (error) {
        assert.ok(error instanceof ProtocolViolation,
          `${String(error)} on ${input.toString("hex").slice(0, 200)}`);
        refused += 1;
      }
    }
    // Both outcomes must occur, or the fuzzer is not reaching past the first check.
    assert.ok(accepted > 100 && refused > 100, `accepted ${accepted}, refused ${refused}`);
  });
}

function mutateInput(random: ReturnType<typeof prng>, seed: Buffer): Buffer {
  switch (random.below(4)) {
    case 0: return random.bytes(random.below(200));
    case 1: return seed.subarray(0, random.below(seed.length + 1));
    default: {
      const copy = Buffer.concat([seed, random.bytes(random.below(3))]);
      for (let flips = 1 + random.below(4); flips > 0; flips--) {
        copy[random.below(copy.length)] = random.below(2) === 0 ? 0xff : random.below(256);
      }
      return copy;
    }
  }
}

const loginSeeds = [
  buildLogin7({ strings: { user: "sa", password: "pw", database: "d" },
    features: [{ id: 0x0a, data: hex("01") }], sspi: hex("00") }),
  buildLogin7({ tdsVersion: 0x71000001, strings: { host: "h" } }),
  new TediousLogin7({ tdsVersion: 0x74000004, packetSize: 4096, clientProgVer: 0, clientPid: 1,
    connectionId: 0, clientTimeZone: 0, clientLcid: 0 }).toBuffer(),
];
fuzz("parseLogin7", loginSeeds, parseLogin7, (input) => {
  if (input.length >= 4) input.writeUInt32LE(input.length, 0);
});
fuzz("parsePrelogin", [new TediousPrelogin({ encrypt: false,
  version: { major: 1, minor: 2, build: 3, subbuild: 4 } }).data,
buildPreloginReply({ version: [1, 2, 3, 4], encryption: 0 })], parsePrelogin);
fuzz("parseSqlBatch", [tediousPayload(new TediousSqlBatch("select 1", Buffer.alloc(8),
  { tdsVersion: "7_4" })), Buffer.concat([hex("04000000"), utf16("go")])], parseSqlBatch);
fuzz("parseTransactionManagerRequest", [
  tediousPayload(new TediousTransaction("name", 4).beginPayload(Buffer.alloc(8))),
  tediousPayload(new TediousTransaction("n").commitPayload(Buffer.alloc(8))),
  Buffer.concat([hex("04000000 0800 00 01 03 02"), utf16("n")]),
], parseTransactionManagerRequest);
