// Goal: the mirroring messages inside endpoint frames survive a round trip, and anything a
// broken or hostile partner could send (cut short, wrong lengths, wrong shapes, unknown kinds or
// codes) is refused as a WireError, which drops the channel, and never as any other exception.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compressLogMessage, decodeWire, encodeWire, WireError, type Hello, type WireMessage } from "../src/mirroring/wire.js";
import { Prng } from "./support/workload.js";

const hello: Hello = {
  databaseName: "shop", instanceGuid: "3A595B32-D2F5-491D-8F52-4C6E758C8867", instanceName: "HOST_A",
  tdsAddress: "127.0.0.1:1433", role: 1, roleSequence: 3, restoring: false, recoveryModel: "FULL",
  familyGuid: "6BF17CBF-0C90-478A-A306-73E0A2603382", forks: [{ guid: "f1", epoch: 1, firstLsn: 1 }],
  endOfLogLsn: 10_004, firstLogLsn: 9_000,
};

const samples: WireMessage[] = [
  { kind: "hello", hello },
  { kind: "refuse", refusal: { number: 1416, args: ["shop"] } },
  { kind: "session", message: { kind: "startSession", mirroringGuid: null, roleSequence: 2, safety: 2, safetySequence: 1,
    timeoutSeconds: 10, isSuspended: false, suspendedSequence: 0, failoverLsn: 7 } },
  { kind: "session", message: { kind: "ackHardened", lsn: 12 } },
  { kind: "session", message: { kind: "ping", state: 4 } },
  { kind: "log", blocks: [Buffer.from([1, 0, 9, 9]), Buffer.alloc(0), Buffer.from("block")] },
  { kind: "resetStream" },
  { kind: "status", status: { redoneLsn: 5, redoQueueBytes: 4096 } },
  { kind: "logChain", chain: { lsn: 812 } },
  { kind: "logChain", chain: { lsn: null } },
];

test("every message kind survives a round trip", () => {
  for (const message of samples) assert.deepEqual(decodeWire(encodeWire(message)), message);
});

test("every cut of every message is a WireError or a shorter valid message, never another exception", () => {
  for (const message of samples) {
    const bytes = encodeWire(message);
    for (let cut = 0; cut < bytes.length; cut++) {
      try {
        decodeWire(bytes.subarray(0, cut));
      } catch (error) {
        assert.ok(error instanceof WireError, `cut ${cut} of ${message.kind}: ${String(error)}`);
      }
    }
  }
});

test("random byte flips are refused as WireError or decode to a well-formed message", () => {
  const prng = new Prng(7);
  for (let round = 0; round < 5000; round++) {
    const bytes = Buffer.from(encodeWire(samples[round % samples.length]!));
    for (let flips = 1 + prng.below(3); flips > 0; flips--) bytes[prng.below(bytes.length)] = prng.below(256);
    try {
      decodeWire(bytes);
    } catch (error) {
      assert.ok(error instanceof WireError, String(error));
    }
  }
});

test("shapes: unknown kinds, wrong field types, out-of-range codes and oversized JSON are refused", () => {
  const json = (kind: number, value: unknown): Buffer => Buffer.concat([Buffer.from([kind]), Buffer.from(JSON.stringify(value))]);
  const refused = [
    Buffer.alloc(0),
    Buffer.from([99]),
    json(1, { ...hello, role: 3 }),
    json(1, { ...hello, endOfLogLsn: -1 }),
    json(1, { ...hello, forks: [{ guid: 1 }] }),
    json(3, { kind: "ping", state: 9 }),
    json(3, { kind: "settings", safety: 7, safetySequence: 1, timeoutSeconds: 10 }),
    json(3, { kind: "ackHardened", lsn: 1.5 }),
    json(3, { kind: "unknown" }),
    json(2, { number: 1416, args: new Array(20).fill("x") }),
    json(6, { redoneLsn: "5", redoQueueBytes: 0 }),
    Buffer.concat([Buffer.from([1]), Buffer.alloc(70_000, 0x20)]),
    Buffer.from([4, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]),
    Buffer.from([4, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from([4, 0, 0, 0, 0, 1]),
    Buffer.from([5, 0]),
    Buffer.from([1, 0x7b]),
  ];
  for (const bytes of refused) assert.throws(() => decodeWire(bytes), WireError, bytes.subarray(0, 40).toString("hex"));
});

test("LOG messages: short ones go plain, long compressible ones deflated; both decode to the same blocks", async () => {
  const small: WireMessage = { kind: "log", blocks: [Buffer.alloc(2000, 7), Buffer.from("delta")] };
  const smallBytes = encodeWire(small);
  assert.equal(await compressLogMessage(smallBytes), smallBytes, "a message of a few KiB is sent as it is");

  // A catch-up message: 64 blocks of 2 KiB of deflatable page bytes.
  const prng = new Prng(11);
  const blocks = Array.from({ length: 64 }, (_, i) => Buffer.from(Array.from({ length: 2048 }, (_, k) => (k % 64 === 0 ? prng.below(256) : i))));
  const plain = encodeWire({ kind: "log", blocks });
  const sent = await compressLogMessage(plain);
  assert.ok(sent.length < plain.length / 4, `deflated ${plain.length} to ${sent.length} bytes`);
  assert.notEqual(sent[0], plain[0], "another message kind on the wire");
  assert.deepEqual(decodeWire(sent), { kind: "log", blocks });

  // Random bytes do not deflate by 12.5%: sent as they are.
  const noise = encodeWire({ kind: "log", blocks: [Buffer.from(Array.from({ length: 80_000 }, () => prng.below(256)))] });
  assert.equal(await compressLogMessage(noise), noise);

  // A damaged deflated message is a WireError (the channel drops), never another exception.
  for (let round = 0; round < 300; round++) {
    const bad = Buffer.from(sent);
    const at = 1 + prng.below(bad.length - 1);
    bad[at] = bad[at]! ^ (1 + prng.below(255));
    try {
      const decoded = decodeWire(bad);
      assert.equal(decoded.kind, "log");
    } catch (error) {
      assert.ok(error instanceof WireError, String(error));
    }
    try {
      decodeWire(sent.subarray(0, 1 + prng.below(sent.length - 1)));
    } catch (error) {
      assert.ok(error instanceof WireError, String(error));
    }
  }
});
