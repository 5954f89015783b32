// Goal: the DATABASE_MIRRORING endpoint transport authenticates partners the way SQL Server's
// certificate authentication does (spec/mirroring.md §3.1, §6.4) and fails with its errors:
// 28027 for incompatible ENCRYPTION / ALGORITHM, 28035 for an unknown certificate, 28055 for an
// expired one, 28034 for a login without CONNECT, 28045 for anything that is not a partner, and
// 1418 (with the specific error as its cause) on the connecting side. Method: the pure pieces
// (frame codec, decision tables, handshake steps) directly; the runtime with two in-process
// listeners on 127.0.0.1, real sockets and real TLS, port 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as net from "node:net";
import * as tls from "node:tls";
import { SqlError } from "../src/errors/sql_error.js";
import { parseEndpointAddress } from "../src/endpoint/address.js";
import {
  encodeFrame, FRAME_HEADER_BYTES, FRAME_PAYLOAD_MAX, FrameDecoder, FrameType, HANDSHAKE_PAYLOAD_MAX,
} from "../src/endpoint/frames.js";
import { handshakeContext } from "../src/endpoint/endpoint_identity.js";
import {
  startAcceptor, startInitiator, stepHandshake, type HandshakeContext, type HandshakeInput, type HandshakeState,
} from "../src/endpoint/handshake.js";
import { encodeHello, ENCRYPTIONS } from "../src/endpoint/handshake_messages.js";
import {
  decideEncryption, decideHandshake, encryptionRules, EXPECTED_FRAME, HANDSHAKE_INPUTS, handshakeRules,
  PHASES_BY_ROLE, type HandshakeView,
} from "../src/endpoint/handshake_rules.js";
import { connectEndpoint, endpointCheck, type MirroringChannel } from "../src/endpoint/transport.js";
import {
  decodeOne, identityOf, makeInstance, nextFrame, rawClient, RecordingProxy, splitAfterFrame, start, stop,
  TestMaster, waitFor, type Running, type TestInstance,
} from "./support/endpoint_certs.js";

const HOST_A = makeInstance("HOST_A");
const HOST_B = makeInstance("HOST_B");
const STRANGER = makeInstance("STRANGER");
const EXPIRED = makeInstance("EXPIRED", { notBefore: new Date("2020-01-01Z"), notAfter: new Date("2021-01-01Z") });

/** HOST_A and HOST_B trusting each other (stage 2 of §6.4 done on both). */
async function pair(identityA = identityOf(HOST_A), identityB = identityOf(HOST_B)): Promise<[Running, Running]> {
  const a = await start(HOST_A, new TestMaster().trust(HOST_B), identityA);
  const b = await start(HOST_B, new TestMaster().trust(HOST_A), identityB);
  return [a, b];
}

/** Connects from→to and asserts the 1418 whose cause has the given number. */
async function assertRefused(from: Running, to: Running, causeNumber: number): Promise<SqlError> {
  const error = await connectEndpoint(to.address, from.identity, from.master, { timeoutMs: 3000 })
    .then(() => assert.fail("connected"), (e: unknown) => e);
  assert.ok(error instanceof SqlError);
  assert.equal(error.number, 1418);
  assert.match(error.message, new RegExp(to.address.replace(/[.]/g, "\\.")));
  assert.ok(error.cause instanceof SqlError, `cause ${String(error.cause)}`);
  assert.equal(error.cause.number, causeNumber, error.cause.message);
  return error.cause;
}

// ---- Frames ----

test("frames: every split of a frame stream decodes to the same frames", () => {
  const stream = Buffer.concat([encodeFrame("PING", Buffer.alloc(8, 1)), encodeFrame("DATA", Buffer.from("log block")),
    encodeFrame("CLOSE", Buffer.alloc(0))]);
  assert.deepEqual([...stream.subarray(0, 4)], [0x4d, 0x4c, 1, FrameType.PING]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const decoder = new FrameDecoder();
    const first = decoder.push(stream.subarray(0, cut));
    const second = decoder.push(stream.subarray(cut));
    assert.ok(first.ok && second.ok);
    const frames = [...first.frames, ...second.frames];
    assert.deepEqual(frames.map((f) => f.type), ["PING", "DATA", "CLOSE"]);
    assert.equal(frames[1]!.payload.toString(), "log block");
    assert.equal(decoder.bufferedBytes, 0);
  }
});

test("frames: bad magic, version, type and length are protocol errors at the header", () => {
  const reasons = (bytes: number[]): string => {
    const pushed = new FrameDecoder(HANDSHAKE_PAYLOAD_MAX).push(Buffer.from(bytes));
    assert.ok(!pushed.ok);
    return pushed.error.reason;
  };
  assert.match(reasons([0x16, 0x03, 0x01]), /TLS ClientHello/);
  assert.match(reasons([0x47, 0x45, 0x54, 0x20]), /bad magic/);
  assert.match(reasons([0x4d, 0x4c, 2]), /version 2/);
  assert.match(reasons([0x4d, 0x4c, 1, 99]), /unknown frame type 99/);
  assert.match(reasons([0x4d, 0x4c, 1, 8, 0, 1, 0, 1]), /exceeds the limit of 65536/);
  const big = Buffer.from([0x4d, 0x4c, 1, 8, 0, 0, 0, 0]);
  big.writeUInt32BE(FRAME_PAYLOAD_MAX + 1, 4);
  assert.ok(!new FrameDecoder().push(big).ok, "16 MiB + 1 is refused by any decoder");
  const decoder = new FrameDecoder();
  assert.ok(!decoder.push(Buffer.from([0x00])).ok);
  assert.ok(!decoder.push(encodeFrame("PING", Buffer.alloc(8))).ok, "a broken decoder stays broken");
  assert.throws(() => encodeFrame("DATA", Buffer.alloc(FRAME_PAYLOAD_MAX + 1)));
});

test("frames: buffered bytes stay within one header plus the payload bound", () => {
  const decoder = new FrameDecoder(1000);
  const frame = encodeFrame("DATA", Buffer.alloc(1000, 7));
  for (let i = 0; i < frame.length - 1; i++) assert.ok(decoder.push(frame.subarray(i, i + 1)).ok);
  assert.equal(decoder.bufferedBytes, FRAME_HEADER_BYTES + 999);
  const last = decoder.push(frame.subarray(frame.length - 1));
  assert.ok(last.ok && last.frames.length === 1 && last.frames[0]!.payload.length === 1000);
});

// ---- Decision tables ----

test("handshake rules: exactly one row matches every valid view, and no row is dead", () => {
  const used = new Set<string>();
  for (const role of ["initiator", "acceptor"] as const) {
    for (const phase of PHASES_BY_ROLE[role]) {
      for (const input of HANDSHAKE_INPUTS) {
        for (const verdict of input === EXPECTED_FRAME[phase] ? ["passed", "failed"] as const : ["passed"] as const) {
          const view: HandshakeView = { role, phase, input, verdict };
          used.add(decideHandshake(view).id); // decideHandshake asserts exactly one match
        }
      }
    }
  }
  assert.deepEqual([...used].sort(), handshakeRules.map((rule) => rule.id).sort());
  assert.throws(() => decideHandshake({ role: "acceptor", phase: "hello_sent", input: "HELLO", verdict: "passed" }));
});

test("encryption rules: spec §3.1 for all nine ENCRYPTION pairs", () => {
  const expected: Record<string, string> = {
    "DISABLED/DISABLED": "plain", "DISABLED/SUPPORTED": "plain", "DISABLED/REQUIRED": "refuse",
    "SUPPORTED/DISABLED": "plain", "SUPPORTED/SUPPORTED": "encrypt", "SUPPORTED/REQUIRED": "encrypt",
    "REQUIRED/DISABLED": "refuse", "REQUIRED/SUPPORTED": "encrypt", "REQUIRED/REQUIRED": "encrypt",
  };
  const used = new Set<string>();
  for (const accepting of ENCRYPTIONS) {
    for (const connecting of ENCRYPTIONS) {
      const rule = decideEncryption({ accepting, connecting });
      used.add(rule.id);
      assert.equal(rule.decision, expected[`${accepting}/${connecting}`], `${accepting}/${connecting}`);
    }
  }
  assert.equal(used.size, encryptionRules.length);
});

test("addresses: TCP://host:port parsed strictly, IPv6 in brackets", () => {
  assert.deepEqual(parseEndpointAddress("TCP://HOST_A.example.com:7024"), { ok: false,
    reason: "'HOST_A.example.com' is not a host name or IPv4 address." }); // '_' is not a host name character
  assert.deepEqual(parseEndpointAddress("tcp://dbserver8.example.com:7024"),
    { ok: true, address: { host: "dbserver8.example.com", port: 7024 } });
  assert.deepEqual(parseEndpointAddress("TCP://[::1]:5022"), { ok: true, address: { host: "::1", port: 5022 } });
  assert.deepEqual(parseEndpointAddress("TCP://10.193.9.134:7023"),
    { ok: true, address: { host: "10.193.9.134", port: 7023 } });
  for (const bad of ["TCP://host", "TCP://host:0", "TCP://host:65536", "TCP://host:07022", "TCP://host:7022/",
    "http://host:7022", " TCP://host:7022", "TCP://::1:5022", "TCP://[fe80::zz]:5022", "TCP://10.0.0.256:1",
    "TCP://-bad-.example:1", "TCP://:1"]) {
    assert.equal(parseEndpointAddress(bad).ok, false, bad);
  }
});

// ---- The pure handshake, without sockets ----

/** The two sides of one handshake, driven by hand: HOST_A connects to HOST_B, both SUPPORTED. */
function handshakeByHand(): { initiator: HandshakeContext; acceptor: HandshakeContext; hello: Buffer;
  initiatorState: HandshakeState; acceptorState: HandshakeState } {
  const now = Date.now();
  const offer = (instance: TestInstance) =>
    ({ encryption: "SUPPORTED", algorithms: ["AES"], certificateDer: instance.certificateDer }) as const;
  const started = startInitiator(offer(HOST_A), crypto.randomBytes(32), now);
  assert.ok(!("error" in started));
  return {
    initiator: handshakeContext(identityOf(HOST_A, "SUPPORTED"), new TestMaster().trust(HOST_B), now),
    acceptor: handshakeContext(identityOf(HOST_B, "SUPPORTED"), new TestMaster().trust(HOST_A), now),
    hello: started.send, initiatorState: started.state,
    acceptorState: startAcceptor(offer(HOST_B), crypto.randomBytes(32)),
  };
}

const frameInput = (bytes: Buffer | null): HandshakeInput => ({ kind: "frame", frame: decodeOne(bytes!) });

test("handshake: both sides reach the same channel, one rule at a time", () => {
  const side = handshakeByHand();
  const reply = stepHandshake(side.acceptorState, frameInput(side.hello), side.acceptor);
  const auth = stepHandshake(side.initiatorState, frameInput(reply.send), side.initiator);
  const accept = stepHandshake(reply.state!, frameInput(auth.send), side.acceptor);
  const done = stepHandshake(auth.state!, frameInput(accept.send), side.initiator);
  assert.deepEqual([reply, auth, accept, done].map((step) => step.rule.id), ["acceptor.hello.checked",
    "initiator.hello_reply.checked", "acceptor.auth.accepted", "initiator.accept.confirmed"]);
  for (const step of [accept, done]) {
    assert.ok(step.outcome?.kind === "established");
    assert.equal(step.outcome.channel.encrypt, true);
    assert.equal(step.outcome.channel.peerLogin, "HOST_A_login");
  }
});

test("handshake: a changed HELLO_REPLY (downgrade to no encryption) makes the acceptor refuse AUTH", () => {
  const side = handshakeByHand();
  const reply = stepHandshake(side.acceptorState, frameInput(side.hello), side.acceptor);
  const payload = decodeOne(reply.send!).payload.toString()
    .replace('"encrypt":true,"algorithm":"AES"', '"encrypt":false,"algorithm":null');
  const auth = stepHandshake(side.initiatorState,
    { kind: "frame", frame: { type: "HELLO_REPLY", payload: Buffer.from(payload) } }, side.initiator);
  assert.equal(auth.rule.id, "initiator.hello_reply.checked", "SUPPORTED alone would accept a plain reply");
  const verdict = stepHandshake(reply.state!, frameInput(auth.send), side.acceptor);
  assert.equal(verdict.rule.id, "acceptor.auth.refused");
  assert.ok(verdict.outcome?.kind === "failed");
  assert.equal(verdict.outcome.error.number, 28035);
  assert.equal(decodeOne(verdict.send!).type, "REFUSE");
});

test("handshake: a replayed or foreign signature fails the initiator's check with 28035", () => {
  const side = handshakeByHand();
  const reply = stepHandshake(side.acceptorState, frameInput(side.hello), side.acceptor);
  // The same reply answered to a different HELLO (another nonce): the signature no longer fits.
  const other = startInitiator({ encryption: "SUPPORTED", algorithms: ["AES"], certificateDer: HOST_A.certificateDer },
    crypto.randomBytes(32), Date.now());
  assert.ok(!("error" in other));
  const replayed = stepHandshake(other.state, frameInput(reply.send), side.initiator);
  assert.equal(replayed.rule.id, "initiator.hello_reply.rejected");
  assert.ok(replayed.outcome?.kind === "failed");
  assert.equal(replayed.outcome.error.number, 28035);
  assert.equal(replayed.send, null, "the initiator just leaves");
});


// ---- Over real sockets ----

test("transport: mutual authentication both directions, DATA both ways, ping", async () => {
  const [a, b] = await pair();
  try {
    for (const [from, to] of [[a, b], [b, a]] as const) {
      const channel = await connectEndpoint(to.address, from.identity, from.master, { timeoutMs: 3000 });
      await waitFor(() => to.master.channels.length === 1, "onConnection");
      const accepted = to.master.channels.pop()!;
      assert.equal(channel.peerCertificateName, `${to === b ? "HOST_B" : "HOST_A"}_cert`);
      assert.equal(accepted.peerCertificateName, `${from === a ? "HOST_A" : "HOST_B"}_cert`);
      assert.equal(channel.peerLogin, accepted.peerLogin, "both ends name the same login");
      assert.equal(accepted.peerLogin, `${from === a ? "HOST_A" : "HOST_B"}_login`);
      assert.equal(channel.encrypted, true);
      assert.equal(channel.algorithm, "AES");
      assert.match(channel.cipher ?? "", /^TLS_AES_(256_GCM_SHA384|128_GCM_SHA256)$/);
      const atAcceptor = nextFrame(accepted);
      await channel.send("DATA", Buffer.from("log block 1"));
      assert.equal((await atAcceptor).payload.toString(), "log block 1");
      const atInitiator = nextFrame(channel);
      await accepted.send("DATA", Buffer.from("hardened 1"));
      assert.equal((await atInitiator).payload.toString(), "hardened 1");
      assert.ok((await channel.ping(2000)) >= 0);
      assert.ok((await accepted.ping(2000)) >= 0);
      const closed = new Promise((resolve) => accepted.once("close", resolve));
      channel.close();
      assert.equal(await closed, null, "an orderly CLOSE");
      assert.throws(() => channel.send("DATA", Buffer.alloc(1)), /closed/);
    }
    assert.deepEqual(a.master.refusals, []);
    assert.deepEqual(b.master.refusals, []);
  } finally {
    await stop(a, b);
  }
});

/** Runs one exchange through a recording proxy; returns the two recorded streams. */
async function recordExchange(a: Running, b: Running):
  Promise<{ channel: MirroringChannel; toA: Buffer; toB: Buffer }> {
  const proxy = new RecordingProxy(b.port);
  const port = await proxy.listen();
  try {
    const channel = await connectEndpoint(`TCP://127.0.0.1:${port}`, a.identity, a.master, { timeoutMs: 3000 });
    await waitFor(() => b.master.channels.length === 1, "onConnection");
    const accepted = b.master.channels.pop()!;
    const received = nextFrame(accepted);
    await channel.send("DATA", Buffer.from("SECRET-PAGE-IMAGE"));
    assert.equal((await received).payload.toString(), "SECRET-PAGE-IMAGE");
    channel.close();
    return { channel, toA: Buffer.concat(proxy.toInitiator), toB: Buffer.concat(proxy.toAcceptor) };
  } finally {
    await proxy.close();
  }
}

test("transport: ENCRYPTION REQUIRED on both sides turns the same socket into TLS after ACCEPT", async () => {
  const [a, b] = await pair();
  try {
    const { channel, toA, toB } = await recordExchange(a, b);
    assert.equal(channel.encrypted, true);
    const fromAcceptor = splitAfterFrame(toA, FrameType.ACCEPT);
    assert.deepEqual(fromAcceptor.types, [FrameType.HELLO_REPLY, FrameType.ACCEPT]);
    assert.equal(fromAcceptor.rest[0], 0x16, "ServerHello: a TLS handshake record right after ACCEPT");
    const fromInitiator = splitAfterFrame(toB, FrameType.AUTH);
    assert.deepEqual(fromInitiator.types, [FrameType.HELLO, FrameType.AUTH]);
    assert.equal(fromInitiator.rest[0], 0x16, "ClientHello right after AUTH");
    assert.ok(!toB.includes("SECRET-PAGE-IMAGE"), "DATA does not travel in clear");
    assert.ok(toB.subarray(toB.length - 200).includes(0x17), "application data records");
  } finally {
    await stop(a, b);
  }
});

test("transport: DISABLED with DISABLED works, authenticated but not encrypted", async () => {
  const [a, b] = await pair(identityOf(HOST_A, "DISABLED", []), identityOf(HOST_B, "DISABLED", []));
  try {
    const { channel, toB } = await recordExchange(a, b);
    assert.equal(channel.encrypted, false);
    assert.equal(channel.algorithm, null);
    assert.equal(channel.cipher, null);
    assert.ok(toB.includes("SECRET-PAGE-IMAGE"), "plaintext, as ENCRYPTION = DISABLED means");
    assert.deepEqual(splitAfterFrame(toB, FrameType.DATA).types, [FrameType.HELLO, FrameType.AUTH, FrameType.DATA]);
  } finally {
    await stop(a, b);
  }
});

test("transport: DATA the acceptor sends at once is not lost, even when it arrives with ACCEPT", async () => {
  class Greeting extends TestMaster {
    override onConnection(channel: MirroringChannel): void {
      super.onConnection(channel);
      void channel.send("DATA", Buffer.from("welcome"));
    }
  }
  const a = await start(HOST_A, new TestMaster().trust(HOST_B), identityOf(HOST_A, "DISABLED", []));
  const b = await start(HOST_B, new Greeting().trust(HOST_A), identityOf(HOST_B, "DISABLED", []));
  try {
    for (let i = 0; i < 10; i++) {
      const channel = await connectEndpoint(b.address, a.identity, a.master);
      assert.equal((await nextFrame(channel)).payload.toString(), "welcome");
      channel.close();
    }
  } finally {
    await stop(a, b);
  }
});

test("transport: DISABLED against REQUIRED: 28027 on the accepting side, 1418 (cause 28027) on the other", async () => {
  for (const [encryptionA, encryptionB] of [["DISABLED", "REQUIRED"], ["REQUIRED", "DISABLED"]] as const) {
    const [a, b] = await pair(identityOf(HOST_A, encryptionA), identityOf(HOST_B, encryptionB));
    try {
      const cause = await assertRefused(a, b, 28027);
      assert.match(cause.message, /no compatible encryption algorithm/);
      await waitFor(() => b.master.refusals.length === 1, "onRefused");
      assert.equal(b.master.refusals[0]!.error.number, 28027);
      assert.match(b.master.refusals[0]!.remote, /^127\.0\.0\.1:\d+$/);
    } finally {
      await stop(a, b);
    }
  }
});

test("transport: algorithms without overlap (AES against RC4) are 28027", async () => {
  const [a, b] = await pair(identityOf(HOST_A, "REQUIRED", ["AES"]), identityOf(HOST_B, "SUPPORTED", ["RC4"]));
  try {
    await assertRefused(a, b, 28027);
    await waitFor(() => b.master.refusals.length === 1, "onRefused");
    assert.equal(b.master.refusals[0]!.error.number, 28027);
  } finally {
    await stop(a, b);
  }
});

test("transport: when both list both algorithms, the accepting endpoint's order wins", async () => {
  const [a, b] = await pair(identityOf(HOST_A, "REQUIRED", ["AES", "RC4"]),
    identityOf(HOST_B, "REQUIRED", ["RC4", "AES"]));
  try {
    const toB = await connectEndpoint(b.address, a.identity, a.master);
    const toA = await connectEndpoint(a.address, b.identity, b.master);
    assert.equal(toB.algorithm, "RC4", "B accepts and prefers RC4");
    assert.equal(toA.algorithm, "AES", "A accepts and prefers AES");
    toB.close();
    toA.close();
  } finally {
    await stop(a, b);
  }
});

test("transport: a certificate not in the partner's master is 28035, on either side", async () => {
  const a = await start(HOST_A, new TestMaster().trust(HOST_B));
  const b = await start(HOST_B, new TestMaster()); // B never imported HOST_A's certificate
  try {
    const cause = await assertRefused(a, b, 28035);
    assert.match(cause.message, /no certificate in master has the public key of 'HOST_A certificate'/);
    await waitFor(() => b.master.refusals.length === 1, "onRefused");
    assert.equal(b.master.refusals[0]!.error.number, 28035);
    // The connecting side checks the accepting side too: mutual authentication.
    const own = await assertRefused(b, a, 28035);
    assert.match(own.message, /'HOST_A certificate'/);
    await waitFor(() => a.master.refusals.length === 1, "A's onRefused");
    assert.equal(a.master.refusals[0]!.error.number, 28045, "A only sees its peer leave");
  } finally {
    await stop(a, b);
  }
});

test("transport: an expired certificate is 28055 naming its subject", async () => {
  const b = await start(HOST_B, new TestMaster().trust(EXPIRED));
  const expiredB = await start(EXPIRED, new TestMaster().trust(HOST_A));
  const a = await start(HOST_A, new TestMaster().trust(EXPIRED));
  try {
    // A connecting side does not even try with its own expired certificate.
    const own = await assertRefused({ ...a, identity: identityOf(EXPIRED) }, b, 28055);
    assert.match(own.message, /The certificate 'EXPIRED certificate' is not valid for endpoint authentication/);
    // A peer that presents one anyway (raw HELLO) is refused by the accepting side.
    const hello = encodeHello({ protocolVersion: 1, encryption: "REQUIRED", algorithms: ["AES"],
      certificateDer: EXPIRED.certificateDer, nonce: crypto.randomBytes(32) });
    const reply = await rawClient(b.port, encodeFrame("HELLO", hello)).closed;
    const refuse = decodeOne(reply);
    assert.equal(refuse.type, "REFUSE");
    assert.equal(JSON.parse(refuse.payload.toString()).number, 28055);
    await waitFor(() => b.master.refusals.length === 1, "onRefused");
    assert.match(b.master.refusals[0]!.error.message, /'EXPIRED certificate'/);
    // An accepting endpoint whose own certificate expired refuses everyone with 28055.
    await assertRefused(a, expiredB, 28055);
  } finally {
    await stop(a, b, expiredB);
  }
});

test("transport: a login without CONNECT is 28034 at the acceptor, 1418 (cause 28034) at the initiator", async () => {
  const a = await start(HOST_A, new TestMaster().trust(HOST_B));
  const b = await start(HOST_B, new TestMaster().trust(HOST_A, { grantConnect: false }));
  try {
    const cause = await assertRefused(a, b, 28034);
    assert.match(cause.message, /The login 'HOST_A_login' does not have CONNECT permission on the endpoint/);
    await waitFor(() => b.master.refusals.length === 1, "onRefused");
    assert.equal(b.master.refusals[0]!.error.number, 28034);
  } finally {
    await stop(a, b);
  }
});

test("transport: clients that are not partners are dropped with 28045; an open channel is not disturbed", async () => {
  const a = await start(HOST_A, new TestMaster().trust(HOST_B));
  const b = await start(HOST_B, new TestMaster().trust(HOST_A), identityOf(HOST_B), 1000);
  try {
    const channel = await connectEndpoint(b.address, a.identity, a.master);
    await waitFor(() => b.master.channels.length === 1, "onConnection");
    const accepted = b.master.channels[0]!;
    const hello = encodeFrame("HELLO", encodeHello({ protocolVersion: 1, encryption: "REQUIRED", algorithms: ["AES"],
      certificateDer: HOST_A.certificateDer, nonce: crypto.randomBytes(32) }));
    const oversized = Buffer.from([0x4d, 0x4c, 1, FrameType.DATA, 0x7f, 0xff, 0xff, 0xff]);
    const clients = [
      rawClient(b.port, Buffer.from("GET / HTTP/1.1\r\n\r\n")), // garbage
      rawClient(b.port, null), // silence until the handshake timeout
      rawClient(b.port, hello), // half a handshake: HELLO, then never AUTH
      rawClient(b.port, oversized),
    ];
    const tlsClient = tls.connect({ host: "127.0.0.1", port: b.port, rejectUnauthorized: false });
    tlsClient.on("error", () => {});
    // Meanwhile the partners keep talking, well inside the 1 s timeout the silent ones get.
    const startedMs = Date.now();
    for (let i = 0; i < 20; i++) {
      const received = nextFrame(accepted);
      await channel.send("DATA", Buffer.from(`block ${i}`));
      assert.equal((await received).payload.toString(), `block ${i}`);
    }
    assert.ok(Date.now() - startedMs < 1000, "messages were not held up");
    await Promise.all(clients.map((client) => client.closed));
    await waitFor(() => b.master.refusals.length === 5, "five refusals", 3000);
    const reasons = b.master.refusals.map((r) => r.error.message).join("\n");
    assert.ok(b.master.refusals.every((r) => r.error.number === 28045), reasons);
    for (const pattern of [/not a mirroring frame/, /did not complete within 1000 ms \(waiting for HELLO\)/,
      /waiting for AUTH/, /exceeds the limit/, /TLS ClientHello/]) assert.match(reasons, pattern);
    assert.ok((await channel.ping(1000)) >= 0, "still alive");
    assert.equal(b.listener.pendingHandshakes, 0);
    channel.close();
  } finally {
    await stop(a, b);
  }
});

test("transport: an address that is not a mirroring endpoint is 1418 with a 28045 cause", async () => {
  const a = await start(HOST_A, new TestMaster().trust(HOST_B));
  const chatty = net.createServer((socket) => {
    socket.on("error", () => {}).resume(); // read, so the client's FIN ends this side too
    socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
  });
  const held: net.Socket[] = [];
  const silent = net.createServer((socket) => held.push(socket));
  const ports = await Promise.all([chatty, silent].map((server) => new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)))));
  try {
    const refused = (address: string, timeoutMs: number): Promise<SqlError> =>
      connectEndpoint(address, a.identity, a.master, { timeoutMs }).then(() => assert.fail("connected"), (e) => e);
    const garbage = await refused(`TCP://127.0.0.1:${ports[0]}`, 2000);
    assert.equal(garbage.number, 1418);
    assert.match((garbage.cause as Error).message, /28045|does not speak the mirroring protocol/);
    const quiet = await refused(`tcp://127.0.0.1:${ports[1]}`, 300);
    assert.match((quiet.cause as Error).message, /did not complete within \d+ ms \(waiting for HELLO_REPLY\)/);
    const badAddress = await refused("TCP://[::1:5022", 300);
    assert.ok(badAddress.cause instanceof RangeError);
  } finally {
    held.forEach((socket) => socket.destroy());
    await Promise.all([chatty, silent].map((server) => new Promise((resolve) => server.close(resolve))));
    await stop(a);
  }
});

test("transport: send() asks the caller to wait on a full queue, and everything arrives", async () => {
  const [a, b] = await pair(identityOf(HOST_A, "DISABLED", []), identityOf(HOST_B, "DISABLED", []));
  try {
    const channel = await connectEndpoint(b.address, a.identity, a.master);
    await waitFor(() => b.master.channels.length === 1, "onConnection");
    const accepted = b.master.channels[0]!;
    let bytes = 0;
    accepted.on("frame", (frame) => { bytes += frame.payload.length; });
    let waits = 0;
    const block = Buffer.alloc(256 * 1024, 9);
    for (let i = 0; i < 64; i++) {
      const pending = channel.send("DATA", block);
      if (pending !== undefined) { waits++; await pending; }
    }
    await waitFor(() => bytes === 64 * block.length, "all 16 MiB");
    assert.ok(waits > 0, "backpressure was signalled");
    channel.close();
  } finally {
    await stop(a, b);
  }
});

test("endpointCheck: every step on success; the failing step named on refusal or no listener", async () => {
  const a = await start(HOST_A, new TestMaster().trust(HOST_B));
  const b = await start(HOST_B, new TestMaster().trust(HOST_A));
  const c = await start(STRANGER, new TestMaster().trust(HOST_A, { grantConnect: false }));
  try {
    const good = await endpointCheck(b.address, a.identity, a.master);
    assert.deepEqual(good.map((s) => [s.step, s.ok]), [["resolve", true], ["tcp connect", true], ["hello", true],
      ["peer certificate", true], ["authorization", true], ["encryption", true], ["ping", true]]);
    const noConnect = await endpointCheck(c.address, a.identity, new TestMaster().trust(STRANGER));
    assert.deepEqual(noConnect.at(-1)?.step, "authorization");
    assert.match(noConnect.at(-1)?.detail ?? "", /Msg 28034/);
    await c.listener.close();
    const down = await endpointCheck(c.address, a.identity, a.master);
    assert.deepEqual(down.map((s) => [s.step, s.ok]), [["resolve", true], ["tcp connect", false]]);
    const typo = await endpointCheck("TCP://127.0.0.1:70000", a.identity, a.master);
    assert.deepEqual(typo.map((s) => [s.step, s.ok]), [["resolve", false]]);
    const unknown = await endpointCheck(b.address, a.identity, new TestMaster());
    assert.deepEqual(unknown.at(-1)?.step, "peer certificate");
  } finally {
    await stop(a, b);
  }
});
