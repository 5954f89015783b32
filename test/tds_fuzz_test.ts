// Goal (issue 4): hostile TDS input costs only the offending connection. For a bounded time,
// many concurrent raw connections log in validly and then send random bytes, random bodies under
// valid headers, wrong/short/oversized packet lengths, messages split into many packets with
// foreign types mid-message, truncated messages followed by a close, a 68 MB message without EOM,
// random RPC / transaction manager / attention / bulk requests, random T-SQL, and bit-flipped
// batches and logins. For every connection the server must answer with whole TDS response
// messages or close that socket: silence is a failure unless the bytes sent leave a message
// unfinished (then the server is right to wait, and the client hangs up). Meanwhile a tedious
// connection keeps reading and inserting, never failing; the server never crashes, its RSS stays
// bounded, and it still shuts down cleanly on SIGTERM.
//
// Seeded: MIRRORLITE_SEED replays a run; a failure prints its case and kind, and
// MIRRORLITE_SEED=… MIRRORLITE_FUZZ_CASE=… MIRRORLITE_FUZZ_KIND=… replays just that case.
// MIRRORLITE_FUZZ_MS (default 20000) bounds the fuzzing time, MIRRORLITE_FUZZ_CONNECTIONS (8)
// the concurrent fuzz connections, MIRRORLITE_FUZZ_RSS_MB (see RSS_BOUND_MB) the memory bound,
// MIRRORLITE_FUZZ_KINDS=a,b restricts the run to some kinds (to study one kind's effect).
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Connection } from "tedious";
import { close, connect, query, SA_PASSWORD, startServer, type Server } from "./support/server.js";
import {
  AFTER_LOGIN, allHeaders, batchPackets, BEFORE_LOGIN, drained, EOM, flipBits, frame, IGNORE,
  login7, loginRaw, loginTokens, minimumAnswers, openRaw, prelogin, probe, Rand, randomSizes,
  randomSql, rawPacket, splitMessage, sqlBatchPayload, Type, writePieces, MESSAGE_BYTES_MAX,
  type Framing, type RawClient,
} from "./support/tds_fuzz.js";
import { tempDir } from "./support/temp.js";

const SEED = Number(process.env.MIRRORLITE_SEED ?? 20260404);
const DURATION_MS = Number(process.env.MIRRORLITE_FUZZ_MS ?? 20_000);
const CONNECTIONS = Number(process.env.MIRRORLITE_FUZZ_CONNECTIONS ?? 8);
const ONLY_CASE = process.env.MIRRORLITE_FUZZ_CASE;
const ONLY_KIND = process.env.MIRRORLITE_FUZZ_KIND;
/** Restricts a run to some kinds (comma-separated), e.g. to look at one kind's memory. */
const KINDS_ONLY = process.env.MIRRORLITE_FUZZ_KINDS?.split(",") ?? null;
/** Silence this long (no byte, no close) while an answer is owed is a hang. */
const ANSWER_MS = 10_000;
/**
 * Peak server RSS allowed. Measured on 2 busy cores, Node 20, default V8 flags: ~163 MB after
 * start and setup (main thread plus a dozen storage worker isolates), peaks of 410–425 MB in
 * 20-s runs and 424 MB over 70 s (6,000 connections): the isolates' heaps grow with the allocation
 * rate, then level off. With the heaps capped (NODE_OPTIONS="--max-old-space-size=96") the same
 * 70-s run peaks at ~310 MB, so the growth is heap sizing, not a leak. One 64 MiB message in
 * flight adds ~70–130 MB until collected. A retained 64 MiB message per `endless` case (up to
 * eight a run), or ~50 KB per fuzz connection, crosses the bound.
 */
const RSS_BOUND_MB = Number(process.env.MIRRORLITE_FUZZ_RSS_MB ?? 560);

const KINDS = [
  [10, "randomBytes"], [8, "randomBody"], [6, "randomText"], [8, "badLength"], [10, "split"],
  [6, "truncated"], [1, "endless"], [12, "requests"], [14, "randomSql"], [8, "mutatedBatch"],
  [5, "mutatedLogin"], [3, "mutatedPrelogin"], [2, "vanish"], [1, "noRead"],
] as const;
type Kind = (typeof KINDS)[number][1];

/** A result of 8000 rows (~150 KB of TDS) that does not depend on what random SQL did to t. */
const ROWS_8000 = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000) "
  + "SELECT i, 'row ' || i AS label FROM n";

const temp = tempDir("fuzz");
let server: Server;

before(async () => {
  server = await startServer(path.join(temp.dir, "data"));
  const setup = await connect(server.port);
  await query(setup, "CREATE DATABASE fuzz");
  await query(setup, "CREATE DATABASE healthy");
  await query(setup, "USE fuzz; CREATE TABLE t (id INT PRIMARY KEY, s NVARCHAR(100))");
  await query(setup, `USE fuzz; INSERT INTO t (id, s) VALUES ${Array.from({ length: 20 }, (_, i) => `(${i + 1}, N'row ${i + 1}')`).join(", ")}`);
  await query(setup, "USE healthy; CREATE TABLE h (id INT PRIMARY KEY, v NVARCHAR(50))");
  await close(setup);
});

after(async () => {
  if ((server as Server | undefined) === undefined) return temp.remove(); // start failed
  const alive = server.child.exitCode === null && server.child.signalCode === null;
  const code = alive ? await server.stop() : server.child.exitCode;
  temp.remove();
  assert.ok(alive, `the server died during the fuzz run (seed ${SEED}):\n${server.output().slice(-3000)}`);
  assert.equal(code, 0, `SIGTERM after the fuzz run exits cleanly (seed ${SEED})`);
});

class CaseFailure extends Error {}

interface Case {
  readonly index: number;
  kind: Kind;
  readonly rand: Rand;
  /** What the client sent after login (or the login itself), for the failure report. */
  sent: Buffer;
  client: RawClient | null;
  readonly started: number;
}

function fail(text: string): never {
  throw new CaseFailure(text);
}

/** After a hang: slow or stuck? Waits up to 20 s more for the next answer or a close. */
async function hang(client: RawClient, text: string): Promise<never> {
  const { responses } = client;
  const answers = responses.messages.length;
  const waited = Date.now();
  await responses.until(() => responses.messages.length > answers, 20_000);
  const later = responses.messages.length > answers ? `answered ${Date.now() - waited} ms later`
    : responses.closed ? `closed ${Date.now() - waited} ms later` : "still silent 20 s later";
  fail(`${text} (${later})`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** One 68 MB stream at a time, a few per run: each costs the server a 64 MiB buffer. */
let endlessBusy = false;
let endlessRuns = 0;
const ENDLESS_MAX = 8;
/** One slow reader at a time: each holds its connection for a second or two. */
let noReadBusy = false;

async function login(c: Case): Promise<RawClient> {
  try {
    c.client = await loginRaw(server.port, SA_PASSWORD, "fuzz", ANSWER_MS);
    return c.client;
  } catch (error) {
    fail(`a valid login failed: ${(error as Error).message}`);
  }
}

function checkResponses(client: RawClient): void {
  if (client.responses.problem !== null) fail(`malformed response: ${client.responses.problem}`);
}

// ---------------------------------------------------------------------------------------------
// The generic post-login case: write a stream, then judge the server by what the stream means.

interface Plan {
  /** Written one by one; their concatenation is the stream. */
  readonly pieces: Buffer[];
  /** Every request is valid: the server must answer each, never close. */
  readonly strict: boolean;
  /** Half-close after writing (a truncated message): the server must close. */
  readonly end?: boolean;
  /** Check of the first answer. */
  readonly first?: (payload: Buffer) => boolean;
}

async function runPlan(c: Case, plan: Plan): Promise<string> {
  const client = await login(c);
  const { responses } = client;
  const stream = Buffer.concat(plan.pieces);
  c.sent = stream;
  const framing: Framing = frame(stream, AFTER_LOGIN);
  await writePieces(client, plan.pieces, () => (c.rand.chance(0.2) ? c.rand.int(0, 3) : 0));
  if (plan.end === true) {
    client.socket.end();
    if (!await responses.closedWithin(ANSWER_MS)) fail("the client half-closed mid-message; the server kept the socket open 10 s");
    return "closed";
  }
  if (framing.violation !== null) {
    if (!await responses.closedWithin(ANSWER_MS)) {
      fail(`framing violation (${framing.violation}): no close within 10 s (${responses.messages.length} answers)`);
    }
    return "closed";
  }
  if (framing.ambiguous !== null) {
    await responses.closedWithin(500);
    return responses.closed ? "closed" : "ambiguous";
  }
  const owed = minimumAnswers(framing.messages);
  const answered = await responses.until(() => responses.messages.length >= owed, ANSWER_MS);
  if (!answered && !responses.closed) {
    await hang(client, `${framing.messages.length} complete requests (${owed} answers owed): `
      + `${responses.messages.length} answers and no close within 10 s`);
  }
  if (responses.closed && !answered) {
    if (plan.strict) fail(`closed after ${responses.messages.length} of ${owed} answers, though every request was valid`);
    return "closed";
  }
  const first = responses.messages[0];
  if (plan.first !== undefined && first !== undefined && !plan.first(first)) {
    fail(`wrong first answer: ${first.subarray(0, 300).toString("hex")}`);
  }
  if (framing.partial) {
    // The server may wait for the rest of the unfinished message, but must not answer it.
    await responses.until(() => responses.messages.length > framing.messages.length, 200);
    if (responses.messages.length > framing.messages.length) {
      fail(`${responses.messages.length} answers to ${framing.messages.length} complete requests`);
    }
    return responses.closed ? "closed" : "waiting";
  }
  const check = probe(c.rand);
  client.socket.write(batchPackets(check.sql));
  const probed = await responses.until(() => responses.messages.some(check.answers), ANSWER_MS);
  if (!probed) {
    if (!responses.closed) await hang(client, `a valid probe batch after ${framing.messages.length} requests: no answer, no close in 10 s`);
    if (plan.strict) fail(`closed after ${responses.messages.length} answers, though every request was valid`);
    return "closed";
  }
  const before = responses.messages.findIndex(check.answers);
  if (before < owed || before > framing.messages.length) {
    fail(`${before} answers before the probe's, for ${framing.messages.length} requests (${owed} owed)`);
  }
  return "answered";
}

// ---------------------------------------------------------------------------------------------
// Case generators

/** Cuts a stream at random places into write pieces. */
function pieces(rand: Rand, stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  const cuts = rand.int(0, 6);
  for (let i = 0; i < cuts && at < stream.length; i++) {
    const next = rand.int(at, stream.length);
    out.push(stream.subarray(at, next));
    at = next;
  }
  out.push(stream.subarray(at));
  return out.filter((piece) => piece.length > 0);
}

/** A message with a given payload, in packets of random sizes up to `max` payload bytes. */
function message(rand: Rand, type: number, payload: Buffer, status = EOM, max = 4088, firstBits = 0): Buffer {
  return Buffer.concat(splitMessage(type, payload, rand.chance(0.5) ? randomSizes(rand, payload.length, max) : [],
    status, firstBits));
}

const REQUEST_TYPES = [Type.RPC, Type.TM, Type.ATTENTION, Type.BULK, Type.SQL_BATCH];

function randomBytes(c: Case): Plan {
  const { rand } = c;
  let bytes = rand.bytes(rand.int(1, 8000));
  if (rand.chance(0.4)) {
    // A plausible header first, so the body is read as a packet more often.
    const header = rawPacket(rand.pick(REQUEST_TYPES), rand.int(0, 3), Buffer.alloc(0), 1,
      rand.chance(0.5) ? rand.int(8, bytes.length + 8) : rand.int(0, 0xffff)).subarray(0, 8);
    bytes = Buffer.concat([header, bytes]);
  }
  return { pieces: pieces(rand, bytes), strict: false };
}

function randomBody(c: Case): Plan {
  const { rand } = c;
  const type = rand.chance(0.7) ? Type.SQL_BATCH : rand.pick(REQUEST_TYPES);
  const payload = rand.bytes(rand.size(12_000));
  return { pieces: pieces(rand, message(rand, type, payload)), strict: false };
}

function randomText(c: Case): Plan {
  const { rand } = c;
  const text = rand.bytes(rand.size(12_000) & ~1);
  const payload = Buffer.concat([allHeaders(), text]);
  return { pieces: pieces(rand, message(rand, Type.SQL_BATCH, payload)), strict: true };
}

function badLength(c: Case): Plan {
  const { rand } = c;
  const body = rand.chance(0.5) ? rand.bytes(rand.size(5000)) : sqlBatchPayload(probe(rand).sql);
  const actual = body.length + 8;
  const length = rand.pick([
    () => rand.int(0, 7),
    () => rand.int(32_768, 0xffff),
    () => rand.pick([4096, 4097, 32_767, 32_768, 0xffff]),
    () => Math.max(8, actual - rand.int(1, 40)),
    () => Math.min(0xffff, actual + rand.int(1, 4000)),
  ])();
  const type = rand.chance(0.8) ? Type.SQL_BATCH : rand.pick(REQUEST_TYPES);
  const stream = [rawPacket(type, rand.chance(0.8) ? EOM : 0, body, 1, length)];
  // Often a valid request follows, which the bad length may swallow or misalign.
  if (rand.chance(0.5)) stream.push(batchPackets(probe(rand).sql));
  return { pieces: pieces(rand, Buffer.concat(stream)), strict: false };
}

function split(c: Case): Plan {
  const { rand } = c;
  const big = rand.chance(0.08);
  const check = probe(rand, big ? rand.int(300_000, 1_200_000) : rand.size(20_000));
  const payload = sqlBatchPayload(check.sql);
  const max = Math.min(32_759, Math.max(rand.pick([1, 7, 100, 512, 4088, 32_759]), Math.ceil(payload.length / 1500)));
  const ignore = rand.chance(0.1);
  const firstBits = rand.chance(0.2) ? rand.pick([0x08, 0x10]) : 0;
  const packets = splitMessage(Type.SQL_BATCH, payload, randomSizes(rand, payload.length, max),
    ignore ? EOM | IGNORE : EOM, firstBits);
  const corrupt = packets.length > 1 && rand.chance(0.5);
  if (corrupt) {
    const at = rand.int(1, packets.length - 1);
    let type = rand.int(0, 255);
    if (type === Type.SQL_BATCH) type = Type.RPC;
    packets[at] = Buffer.from(packets[at]!);
    packets[at]![0] = type;
  }
  const stream = Buffer.concat(packets);
  const first = ignore ? (p: Buffer) => p.length === 0 : check.answers;
  return { pieces: pieces(rand, stream), strict: !corrupt, ...(corrupt ? {} : { first }) };
}

function truncated(c: Case): Plan {
  const { rand } = c;
  const valid = rand.chance(0.7)
    ? Buffer.concat(splitMessage(Type.SQL_BATCH, sqlBatchPayload(probe(rand, rand.size(10_000)).sql),
      randomSizes(rand, 20_000, 4088)))
    : message(rand, rand.pick(REQUEST_TYPES), rand.bytes(rand.size(8000)));
  const cut = rand.int(1, valid.length - 1);
  return { pieces: pieces(rand, valid.subarray(0, cut)), strict: false, end: true };
}

/** A short pipelined run of requests: valid batches, attentions, IGNOREd and random requests. */
function requests(c: Case): Plan {
  const { rand } = c;
  let strict = true;
  const stream: Buffer[] = [];
  const count = rand.int(1, 8);
  for (let i = 0; i < count; i++) {
    const choice = rand.weighted([[4, "batch"], [2, "attention"], [1, "attentionPayload"], [2, "ignored"],
      [3, "randomRequest"], [1, "anyType"], [2, "rpc"], [2, "tm"]] as const);
    switch (choice) {
      case "batch":
        stream.push(message(rand, Type.SQL_BATCH, sqlBatchPayload(rand.pick(["SELECT 1 AS n", "SELECT * FROM t",
          "SELECT 1/0", "SELECT s FROM t WHERE id = 3", "PRINT 'hello'"])), EOM, 4088,
        rand.chance(0.2) ? 0x08 : 0));
        break;
      case "attention":
        stream.push(rawPacket(Type.ATTENTION, EOM, Buffer.alloc(0)));
        break;
      case "attentionPayload":
        strict = false;
        stream.push(message(rand, Type.ATTENTION, rand.bytes(rand.int(1, 100))));
        break;
      case "ignored": {
        let type = rand.int(0, 255);
        if (type === Type.ATTENTION) type = Type.RPC;
        stream.push(message(rand, type, rand.bytes(rand.size(6000)), EOM | IGNORE));
        break;
      }
      case "randomRequest":
        strict = false;
        stream.push(message(rand, rand.pick([Type.RPC, Type.TM, Type.BULK]), rand.bytes(rand.size(6000))));
        break;
      case "anyType": {
        strict = false;
        let type = rand.int(0, 255);
        if (type === Type.ATTENTION) type = Type.BULK;
        stream.push(message(rand, type, rand.bytes(rand.size(3000))));
        break;
      }
      case "rpc": {
        strict = false;
        const head = Buffer.alloc(6);
        head.writeUInt16LE(rand.chance(0.7) ? 0xffff : rand.int(0, 40), 0);
        head.writeUInt16LE(rand.int(0, 20), 2);
        head.writeUInt16LE(rand.int(0, 3), 4);
        stream.push(message(rand, Type.RPC, Buffer.concat([allHeaders(), head, rand.bytes(rand.size(2000))])));
        break;
      }
      case "tm": {
        strict = false;
        const head = Buffer.alloc(2);
        head.writeUInt16LE(rand.int(0, 10), 0);
        stream.push(message(rand, Type.TM, Buffer.concat([allHeaders(), head, rand.bytes(rand.size(40))])));
        break;
      }
    }
  }
  return { pieces: pieces(rand, Buffer.concat(stream)), strict };
}

function randomSqlCase(c: Case): Plan {
  const { rand } = c;
  // A lock wait ends in error 1222, never in a hang, when another fuzz batch holds the writer.
  const stream = [batchPackets("SET LOCK_TIMEOUT 3000")];
  const count = rand.int(1, 3);
  for (let i = 0; i < count; i++) stream.push(message(rand, Type.SQL_BATCH, sqlBatchPayload(randomSql(rand))));
  return { pieces: pieces(rand, Buffer.concat(stream)), strict: true };
}

function mutatedBatch(c: Case): Plan {
  const { rand } = c;
  const check = probe(rand, rand.size(6000));
  const packets = batchPackets(check.sql);
  const textOnly = packets.length <= 4096 && rand.chance(0.5);
  // Flipping only text bytes (past header and ALL_HEADERS) keeps the request valid.
  const mutated = flipBits(packets, rand, rand.int(1, 6), textOnly ? 8 + 22 : 0);
  return { pieces: pieces(rand, mutated), strict: textOnly };
}

/** 68 MB of packets without EOM: the server must close at its 64 MiB bound. */
async function endless(c: Case): Promise<string> {
  endlessBusy = true;
  endlessRuns++;
  try {
    const client = await login(c);
    const { socket, responses } = client;
    const { rand } = c;
    const target = rand.chance(0.7) ? MESSAGE_BYTES_MAX + 4 * 1024 * 1024 : rand.int(1, 30) * 1024 * 1024;
    const first = rawPacket(Type.SQL_BATCH, 0, Buffer.concat([allHeaders(), rand.bytes(32_767 - 8 - 22)]));
    const next = rawPacket(Type.SQL_BATCH, 0, rand.bytes(32_767 - 8));
    c.sent = Buffer.concat([first, next.subarray(0, 64)]);
    let sent = 0;
    for (let packet = first; sent < target && !responses.closed && !socket.destroyed; packet = next) {
      if (!socket.write(packet)) await drained(socket);
      sent += packet.length - 8;
    }
    if (responses.messages.length > 0) fail(`${responses.messages.length} answers to an unfinished message`);
    if (target <= MESSAGE_BYTES_MAX) {
      responses.close();
      return "clientClosed";
    }
    if (!await responses.closedWithin(ANSWER_MS)) fail(`sent ${sent} payload bytes without EOM: no close within 10 s`);
    return "closed";
  } finally {
    endlessBusy = false;
  }
}

/** A bit-flipped LOGIN7 after a valid PRELOGIN. */
async function mutatedLogin(c: Case): Promise<string> {
  const { rand } = c;
  const client = await openRaw(server.port);
  c.client = client;
  const { socket, responses } = client;
  socket.write(prelogin());
  if (!await responses.until(() => responses.messages.length >= 1, ANSWER_MS)) fail("a valid PRELOGIN was not answered");
  const bytes = flipBits(login7("sa", SA_PASSWORD, "fuzz"), rand, rand.int(1, 4));
  c.sent = bytes;
  await writePieces(client, pieces(rand, bytes), () => 0);
  return afterLogin(c, client, frame(bytes, BEFORE_LOGIN), 1);
}

/** A bit-flipped PRELOGIN, then (if answered) a valid LOGIN7. */
async function mutatedPrelogin(c: Case): Promise<string> {
  const { rand } = c;
  const client = await openRaw(server.port);
  c.client = client;
  const { socket, responses } = client;
  const bytes = flipBits(prelogin(), rand, rand.int(1, 4));
  c.sent = bytes;
  socket.write(bytes);
  if (bytes[0] === 0x16) {
    // A TLS handshake record first: TDS 8.0 strict encryption. The server may wait for the rest
    // of the record; a whole record of garbage must end in a close (after a TLS alert).
    responses.parse = false;
    if (5 + bytes.readUInt16BE(3) > bytes.length) return waitingForRest(client, 0);
    if (!await responses.closedWithin(ANSWER_MS)) fail("a garbage TLS ClientHello: no close within 10 s");
    return "closed";
  }
  const framing = frame(bytes, BEFORE_LOGIN);
  if (framing.violation !== null) {
    if (!await responses.closedWithin(ANSWER_MS)) fail(`framing violation (${framing.violation}) before login: no close in 10 s`);
    return "closed";
  }
  if (framing.messages.length === 0) return waitingForRest(client, 0);
  if (!await responses.until(() => responses.messages.length >= 1, ANSWER_MS) && !responses.closed) {
    fail("a complete (mutated) PRELOGIN: no answer and no close within 10 s");
  }
  if (responses.closed) return "closed";
  const login = login7("sa", SA_PASSWORD, "fuzz");
  socket.write(login);
  return afterLogin(c, client, frame(login, BEFORE_LOGIN), 1);
}

/** The server sent `answered` messages and then got `framing`, a (maybe mangled) LOGIN7. */
async function afterLogin(c: Case, client: RawClient, framing: Framing, answered: number): Promise<string> {
  const { responses } = client;
  if (framing.violation !== null) {
    if (!await responses.closedWithin(ANSWER_MS)) fail(`framing violation (${framing.violation}) in LOGIN7: no close in 10 s`);
    return "closed";
  }
  if (framing.ambiguous !== null || framing.messages.length === 0) return waitingForRest(client, answered);
  if (!await responses.until(() => responses.messages.length > answered, ANSWER_MS) && !responses.closed) {
    fail("a complete LOGIN7: no answer and no close within 10 s");
  }
  const reply = responses.messages[answered];
  if (reply === undefined) return "closed";
  const tokens = loginTokens(reply);
  if (!tokens.loginAck) {
    // A refused login ends the connection, as SQL Server does.
    if (!await responses.closedWithin(ANSWER_MS)) fail(`login refused (errors ${tokens.errors.join(",")}) but not closed in 10 s`);
    return "refused";
  }
  // Accepted (the flips hit harmless bytes): the session must work.
  responses.checkDone = true;
  responses.messages.length = 0;
  if (framing.partial || framing.messages.length > 1) return waitingForRest(client, 0);
  const check = probe(c.rand);
  client.socket.write(batchPackets(check.sql));
  if (!await responses.until(() => responses.messages.some(check.answers), ANSWER_MS) && !responses.closed) {
    fail("logged in with a mutated LOGIN7; a valid probe batch got no answer and no close in 10 s");
  }
  return responses.closed ? "closed" : "answered";
}

async function waitingForRest(client: RawClient, answered: number): Promise<string> {
  const { responses } = client;
  await responses.until(() => responses.messages.length > answered, 200);
  if (responses.messages.length > answered) fail("the server answered an unfinished message");
  return responses.closed ? "closed" : "waiting";
}

/** A client that sends a query with a large result and vanishes at once. */
async function vanish(c: Case): Promise<string> {
  const client = await login(c);
  const bytes = batchPackets(ROWS_8000);
  c.sent = bytes;
  client.socket.write(bytes);
  await sleep(c.rand.int(0, 20));
  client.responses.close();
  return "vanished";
}

/**
 * A client that pipelines requests with large results and stops reading for a while: the server
 * must stop reading too (bounded memory), then answer every request once the client reads again.
 */
async function noRead(c: Case): Promise<string> {
  noReadBusy = true;
  try {
    return await slowReader(c);
  } finally {
    noReadBusy = false;
  }
}

async function slowReader(c: Case): Promise<string> {
  const client = await login(c);
  const { socket, responses } = client;
  socket.pause();
  const count = c.rand.int(5, 12);
  const bytes = Buffer.concat(Array.from({ length: count }, () =>
    batchPackets(ROWS_8000)));
  c.sent = bytes;
  socket.write(bytes);
  await sleep(c.rand.int(100, 1000));
  socket.resume();
  if (!await responses.until(() => responses.messages.length >= count, ANSWER_MS)) {
    await hang(client, `${count} pipelined requests, read late: ${responses.messages.length} answers, `
      + `closed=${responses.closed}, then 10 s of silence`);
  }
  return "answered";
}

async function runCase(c: Case): Promise<string> {
  switch (c.kind) {
    case "randomBytes": return runPlan(c, randomBytes(c));
    case "randomBody": return runPlan(c, randomBody(c));
    case "randomText": return runPlan(c, randomText(c));
    case "badLength": return runPlan(c, badLength(c));
    case "split": return runPlan(c, split(c));
    case "truncated": return runPlan(c, truncated(c));
    case "endless": return endless(c);
    case "requests": return runPlan(c, requests(c));
    case "randomSql": return runPlan(c, randomSqlCase(c));
    case "mutatedBatch": return runPlan(c, mutatedBatch(c));
    case "mutatedLogin": return mutatedLogin(c);
    case "mutatedPrelogin": return mutatedPrelogin(c);
    case "vanish": return vanish(c);
    case "noRead": return noRead(c);
  }
}

// ---------------------------------------------------------------------------------------------
// The run

function describe(c: Case, error: unknown): string {
  const text = error instanceof CaseFailure ? error.message : `unexpected error: ${(error as Error).stack ?? String(error)}`;
  const responses = c.client?.responses;
  const spid = responses?.spid ?? -1;
  const serverLines = spid > 0 ? server.output().split("\n").filter((line) => line.includes(`connection ${spid} `)) : [];
  const hex = c.sent.subarray(0, 400).toString("hex");
  // The SQL of the batches sent, readable, for a reproduction.
  const sql = frame(c.sent, AFTER_LOGIN).messages
    .filter((m) => m.type === Type.SQL_BATCH && m.payload.length >= 22 && m.payload.readUInt32LE(0) === 22)
    .map((m) => JSON.stringify(m.payload.toString("utf16le", 22).slice(0, 600)));
  return [`seed ${SEED} case ${c.index} (${c.kind}): ${text}`,
    `  sent ${c.sent.length} bytes${c.sent.length > 400 ? " (first 400)" : ""}: ${hex}`,
    `  server: ${responses === undefined ? "no socket" : `${responses.messages.length} answers, `
      + `closed=${responses.closed} by client=${responses.clientClosed}, partial=${responses.partialBytes}, `
      + `problem=${responses.problem ?? "none"}; answers at +${responses.messageTimes.map((t) => t - c.started).join(", +")} ms, `
      + `last byte at +${responses.lastDataAt - c.started} ms`} ${serverLines.join(" | ")}`,
    ...(sql.length > 0 ? [`  batches: ${sql.join("\n           ")}`] : []),
    `  replay: MIRRORLITE_SEED=${SEED} MIRRORLITE_FUZZ_CASE=${c.index} MIRRORLITE_FUZZ_KIND=${c.kind} `
      + "node --test dist/test/tds_fuzz_test.js"].join("\n");
}

function rssKb(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { rss: field("VmRSS"), hwm: field("VmHWM") };
  } catch {
    return null;
  }
}

test("the test's framing model", () => {
  const batch = batchPackets("SELECT 1");
  const twoPackets = Buffer.concat(splitMessage(Type.SQL_BATCH, sqlBatchPayload("SELECT 1"), [10]));
  assert.equal(frame(batch).messages.length, 1);
  assert.deepEqual([frame(twoPackets).messages.length, frame(twoPackets).partial], [1, false]);
  assert.equal(frame(twoPackets.subarray(0, 20)).partial, true, "inside the first packet");
  assert.equal(frame(twoPackets.subarray(0, 18 + 8)).partial, true, "between packets, no EOM yet");
  assert.match(frame(rawPacket(Type.SQL_BATCH, EOM, Buffer.alloc(0), 1, 7)).violation ?? "", /below the header/);
  assert.match(frame(rawPacket(Type.SQL_BATCH, EOM, Buffer.alloc(0), 1, 32_768)).violation ?? "", /above/);
  const typeChange = Buffer.from(twoPackets);
  typeChange[18] = Type.RPC;
  assert.match(frame(typeChange).violation ?? "", /inside a 0x1 message/);
  typeChange[18] = Type.ATTENTION;
  assert.notEqual(frame(typeChange).ambiguous, null);
  const requests = [batch, rawPacket(Type.ATTENTION, EOM, Buffer.alloc(0)), rawPacket(Type.ATTENTION, EOM, Buffer.alloc(0))];
  assert.equal(minimumAnswers(frame(Buffer.concat(requests)).messages), 2);
});

test("fuzzed TDS input: only the offending connection answers or closes; memory bounded", async (t) => {
  const failures: string[] = [];
  const stats = new Map<string, Map<string, number>>();
  const count = (kind: string, outcome: string): void => {
    const byOutcome = stats.get(kind) ?? new Map<string, number>();
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    stats.set(kind, byOutcome);
  };
  let serverExit: string | null = null;
  server.child.once("exit", (code, signal) => { serverExit = `exit code ${code}, signal ${signal}`; });

  // Memory, sampled throughout.
  const startRss = rssKb(server.pid)!;
  let peakRss = startRss.rss;
  const timeline: number[] = [];
  let ticks = 0;
  const sampler = setInterval(() => {
    const sample = rssKb(server.pid);
    if (sample !== null) peakRss = Math.max(peakRss, sample.rss);
    if (sample !== null && ticks++ % 20 === 0) timeline.push(Math.round(sample.rss / 1024));
  }, 50);

  // The healthy client: reads and inserts for the whole run, and must never fail.
  let stopWitness = false;
  let inserted = 0;
  let witnessRequests = 0;
  const witness: Connection = await connect(server.port, "healthy");
  const witnessLoop = (async () => {
    try {
      while (!stopWitness) {
        const one = await query(witness, "SELECT 1 AS one");
        assert.equal(one.rows[0]![0]!.one, 1);
        await query(witness, `INSERT INTO h (id, v) VALUES (${inserted + 1}, N'row ${inserted + 1}')`);
        inserted++;
        witnessRequests += 2;
      }
    } catch (error) {
      failures.push(`seed ${SEED}: the healthy tedious connection failed after ${witnessRequests} requests: `
        + `${(error as Error).message}`);
    }
  })();

  const started = Date.now();
  const deadline = started + DURATION_MS;
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (failures.length === 0 && serverExit === null) {
      let index: number;
      if (ONLY_CASE !== undefined) {
        if (nextIndex++ > 0) return;
        index = Number(ONLY_CASE);
      } else {
        if (Date.now() >= deadline) return;
        index = nextIndex++;
      }
      const rand = new Rand(SEED, index);
      let kind: Kind = rand.weighted(KINDS);
      if (ONLY_KIND !== undefined) kind = ONLY_KIND as Kind;
      else if (KINDS_ONLY !== null && !KINDS_ONLY.includes(kind)) kind = KINDS_ONLY[index % KINDS_ONLY.length] as Kind;
      if (ONLY_KIND === undefined && kind === "endless" && (endlessBusy || endlessRuns >= ENDLESS_MAX)) kind = "randomBytes";
      if (ONLY_KIND === undefined && kind === "noRead" && noReadBusy) kind = "requests";
      const c: Case = { index, kind, rand, sent: Buffer.alloc(0), client: null, started: Date.now() };
      try {
        count(kind, await runCase(c));
        if (c.client !== null) checkResponses(c.client);
      } catch (error) {
        count(kind, "FAILED");
        if (serverExit === null) failures.push(describe(c, error));
      } finally {
        c.client?.responses.close();
      }
    }
  };
  await Promise.all(Array.from({ length: ONLY_CASE === undefined ? CONNECTIONS : 1 }, () => worker()));
  const fuzzMs = Date.now() - started;

  stopWitness = true;
  await witnessLoop;
  if (failures.length === 0 && serverExit === null) {
    const rows = await query(witness, "SELECT COUNT(*) AS n FROM h");
    assert.equal(rows.rows[0]![0]!.n, inserted, `every acknowledged insert of the healthy client is there (seed ${SEED})`);
  }
  await close(witness);
  clearInterval(sampler);
  const endRss = rssKb(server.pid);
  if (endRss !== null) peakRss = Math.max(peakRss, endRss.hwm);

  const cases = [...stats.values()].reduce((sum, m) => sum + [...m.values()].reduce((a, b) => a + b, 0), 0);
  t.diagnostic(`seed ${SEED}: ${cases} fuzz connections in ${fuzzMs} ms, ${ONLY_CASE === undefined ? CONNECTIONS : 1} at a time; `
    + `healthy client ${witnessRequests} requests, ${inserted} inserts`);
  for (const [kind, outcomes] of [...stats.entries()].sort()) {
    t.diagnostic(`  ${kind}: ${[...outcomes.entries()].map(([o, n]) => `${o} ${n}`).join(", ")}`);
  }
  t.diagnostic(`server RSS: ${Math.round(startRss.rss / 1024)} MB at start, peak ${Math.round(peakRss / 1024)} MB, `
    + `${endRss === null ? "?" : Math.round(endRss.rss / 1024)} MB at end (bound ${RSS_BOUND_MB} MB); each second: ${timeline.join(" ")}`);

  assert.equal(serverExit, null, `the server died (seed ${SEED}): ${serverExit}\n${server.output().slice(-3000)}`);
  assert.deepEqual(failures, [], `fuzz failures (seed ${SEED}):\n${failures.slice(0, 5).join("\n\n")}`);
  assert.ok(peakRss / 1024 < RSS_BOUND_MB, `server RSS peaked at ${Math.round(peakRss / 1024)} MB, `
    + `above ${RSS_BOUND_MB} MB (seed ${SEED})`);
});

// Found by this fuzz test (seed 20260404, case 853): a statement over a catalog view that
// SQLite rejects used to drop the connection instead of answering with an ERROR.
test("a SQL error in a catalog-view query is answered with an ERROR", async () => {
  for (const sql of ["SELECT nope FROM sys.databases", "SELECT 1 FROM sys.databases WHERE"]) {
    const client = await loginRaw(server.port, SA_PASSWORD, "fuzz", ANSWER_MS);
    const { responses } = client;
    client.socket.write(batchPackets(sql));
    const answered = await responses.until(() => responses.messages.length >= 1, ANSWER_MS);
    responses.close();
    assert.ok(answered, `${sql}: answered, not closed`);
    assert.ok(loginTokens(responses.messages[0]!).errors.length > 0, `${sql}: answered with an ERROR`);
  }
});
