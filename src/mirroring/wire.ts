// Mirroring messages inside the endpoint's DATA frames (src/endpoint). Pure: no I/O. One message
// per frame: a kind byte, then either JSON (the rare control messages) or the binary log blocks.
//
//   HELLO     JSON Hello: each side's view of the database, sent first by both ends of a channel
//   REFUSE    JSON {number, args}: the accepting side will not mirror (1416, 1412, 1478, …)
//   SESSION   JSON PartnerMessage: the session machine's messages (startSession, ackHardened, …)
//   LOG       u32 count, then count × (u32 length, log-stream block): records in LSN order;
//             the first LOG after a RESET_STREAM starts with empty page caches on both ends
//   RESET_STREAM (empty): the principal starts shipping afresh; the mirror resets its decoder
//   STATUS    JSON {redoneLsn, redoQueueBytes}: the mirror's redo progress, for the principal's views
//   LOG_DEFLATED  raw deflate of a LOG message's body: sent instead of LOG when that saves at
//             least 12.5% (SQL Server's rule for log stream compression)
//   LOG_CHAIN JSON {lsn}: where the principal's log backup chain continues (null: no chain); the
//             mirror keeps its log from there, so log backups go on after a failover
//
// Every length is checked before it is read; a malformed message is a WireError, never a throw
// of something else, and the caller drops the channel.
import { promisify } from "node:util";
import { deflateRaw, deflateRawSync, inflateRawSync } from "node:zlib";
import type { MirroringRoleCode } from "./codes.js";
import type { PartnerMessage } from "./session_types.js";
import type { RecoveryFork } from "../storage/control_file.js";

export const WireKind = {
  HELLO: 1, REFUSE: 2, SESSION: 3, LOG: 4, RESET_STREAM: 5, STATUS: 6, LOG_DEFLATED: 7, LOG_CHAIN: 8,
} as const;
/** Bound on an inflated LOG body: one endpoint frame's payload. */
const LOG_BODY_BYTES_MAX = 16 * 1024 * 1024;

/** Bound on one JSON message: control messages are small; anything larger is hostile. */
const JSON_BYTES_MAX = 64 * 1024;
/** Bound on blocks in one LOG message (a frame is at most 16 MiB anyway). */
const BLOCKS_PER_MESSAGE_MAX = 65536;

export interface Hello {
  readonly databaseName: string;
  readonly instanceGuid: string;
  readonly instanceName: string;
  /** host:port where clients reach this instance over TDS (ENVCHANGE 13 on the partner). */
  readonly tdsAddress: string;
  /** null: this instance has no session for the database (yet). */
  readonly role: MirroringRoleCode | null;
  readonly roleSequence: number;
  readonly restoring: boolean;
  readonly recoveryModel: string;
  readonly familyGuid: string | null;
  readonly forks: readonly RecoveryFork[];
  /** Hardened (mirror) or durable (principal) end of log. */
  readonly endOfLogLsn: number;
  /** The first LSN this side's log still holds (null: empty log). */
  readonly firstLogLsn: number | null;
}

export interface Refusal {
  readonly number: number;
  readonly args: readonly (string | number)[];
}

export interface MirrorStatus {
  readonly redoneLsn: number;
  readonly redoQueueBytes: number;
}

export type WireMessage =
  | { readonly kind: "hello"; readonly hello: Hello }
  | { readonly kind: "refuse"; readonly refusal: Refusal }
  | { readonly kind: "session"; readonly message: PartnerMessage }
  | { readonly kind: "log"; readonly blocks: readonly Buffer[] }
  | { readonly kind: "resetStream" }
  | { readonly kind: "status"; readonly status: MirrorStatus }
  | { readonly kind: "logChain"; readonly chain: LogChain };

export interface LogChain {
  /** The first LSN the next log backup on the principal will hold; null: no log backup chain. */
  readonly lsn: number | null;
}

const deflateRawAsync = promisify(deflateRaw);

export class WireError extends Error {
  override readonly name = "WireError";
}

function json(kind: number, value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), "utf8");
  return Buffer.concat([Buffer.from([kind]), body]);
}

export function encodeWire(message: WireMessage): Buffer {
  switch (message.kind) {
    case "hello": return json(WireKind.HELLO, message.hello);
    case "refuse": return json(WireKind.REFUSE, message.refusal);
    case "session": return json(WireKind.SESSION, message.message);
    case "status": return json(WireKind.STATUS, message.status);
    case "logChain": return json(WireKind.LOG_CHAIN, message.chain);
    case "resetStream": return Buffer.from([WireKind.RESET_STREAM]);
    case "log": return encodeLog(message.blocks);
  }
}

function encodeLog(blocks: readonly Buffer[]): Buffer {
  let bytes = 5;
  for (const block of blocks) bytes += 4 + block.length;
  const out = Buffer.allocUnsafe(bytes);
  out[0] = WireKind.LOG;
  out.writeUInt32LE(blocks.length, 1);
  let pos = 5;
  for (const block of blocks) {
    out.writeUInt32LE(block.length, pos);
    block.copy(out, pos + 4);
    pos += 4 + block.length;
  }
  return out;
}

export function decodeWire(payload: Buffer): WireMessage {
  if (payload.length < 1) throw new WireError("empty mirroring message");
  const kind = payload[0]!;
  const rest = payload.subarray(1);
  switch (kind) {
    case WireKind.HELLO: return { kind: "hello", hello: parseJson(rest, isHello, "HELLO") };
    case WireKind.REFUSE: return { kind: "refuse", refusal: parseJson(rest, isRefusal, "REFUSE") };
    case WireKind.SESSION: return { kind: "session", message: parseJson(rest, isPartnerMessage, "SESSION") };
    case WireKind.STATUS: return { kind: "status", status: parseJson(rest, isStatus, "STATUS") };
    case WireKind.LOG_CHAIN: return { kind: "logChain", chain: parseJson(rest, isLogChain, "LOG_CHAIN") };
    case WireKind.RESET_STREAM:
      if (rest.length !== 0) throw new WireError("RESET_STREAM carries no payload");
      return { kind: "resetStream" };
    case WireKind.LOG: return { kind: "log", blocks: decodeLog(rest) };
    case WireKind.LOG_DEFLATED: return { kind: "log", blocks: decodeLog(inflate(rest)) };
    default: throw new WireError(`unknown mirroring message kind ${kind}`);
  }
}

function inflate(body: Buffer): Buffer {
  try {
    return inflateRawSync(body, { maxOutputLength: LOG_BODY_BYTES_MAX });
  } catch (error) {
    throw new WireError(`LOG_DEFLATED message does not inflate: ${(error as Error).message}`);
  }
}

/**
 * LOG messages shorter than this go as they are: their blocks are page deltas already (a
 * single-row insert is 150–450 bytes), and deflate cost both partners more CPU than the bytes
 * it saved were worth: Node builds and tears down a zlib stream object per call, which perf
 * showed costing more than deflating or inflating itself. Messages grow when the link falls
 * behind (the shipper gathers whatever waited), so a slow link gets deflated messages.
 */
const DEFLATE_MESSAGE_BYTES_MIN = 8 * 1024;

/**
 * Messages up to this size are deflated on the event loop: the thread-pool hop and stream
 * machinery of the asynchronous call cost more than deflating a few kilobytes (~0.1 ms).
 */
const DEFLATE_ON_LOOP_BYTES_MAX = 32 * 1024;

/**
 * The compressed form of an encoded LOG message, or the message itself when it is short or
 * deflate saves less than 12.5%. Large messages (catch-up) are deflated on the thread pool.
 */
export async function compressLogMessage(message: Buffer): Promise<Buffer> {
  if (message.length < DEFLATE_MESSAGE_BYTES_MIN) return message;
  const body = message.subarray(1);
  const deflated = message.length <= DEFLATE_ON_LOOP_BYTES_MAX ? deflateRawSync(body, { level: 1 })
    : await deflateRawAsync(body, { level: 1 });
  if (deflated.length > body.length * 0.875) return message;
  return Buffer.concat([Buffer.from([WireKind.LOG_DEFLATED]), deflated]);
}

function decodeLog(body: Buffer): Buffer[] {
  if (body.length < 4) throw new WireError("LOG message shorter than its count");
  const count = body.readUInt32LE(0);
  if (count > BLOCKS_PER_MESSAGE_MAX) throw new WireError(`LOG message claims ${count} blocks`);
  const blocks: Buffer[] = [];
  let pos = 4;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > body.length) throw new WireError("LOG block length runs past the message");
    const length = body.readUInt32LE(pos);
    if (length > body.length - pos - 4) throw new WireError("LOG block runs past the message");
    blocks.push(body.subarray(pos + 4, pos + 4 + length));
    pos += 4 + length;
  }
  if (pos !== body.length) throw new WireError("bytes after the last LOG block");
  return blocks;
}

function parseJson<T>(body: Buffer, check: (value: unknown) => value is T, what: string): T {
  if (body.length > JSON_BYTES_MAX) throw new WireError(`${what} message of ${body.length} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    throw new WireError(`${what} message is not JSON`);
  }
  if (!check(value)) throw new WireError(`${what} message has the wrong shape`);
  return value;
}

type Fields = Record<string, unknown>;
const isObject = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value);
const isLsn = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isString = (value: unknown): value is string => typeof value === "string" && value.length <= 1024;

function isHello(value: unknown): value is Hello {
  if (!isObject(value)) return false;
  const v = value;
  return isString(v.databaseName) && isString(v.instanceGuid) && isString(v.instanceName) && isString(v.tdsAddress)
    && (v.role === null || v.role === 1 || v.role === 2) && isLsn(v.roleSequence) && typeof v.restoring === "boolean"
    && isString(v.recoveryModel) && (v.familyGuid === null || isString(v.familyGuid))
    && Array.isArray(v.forks) && v.forks.length <= 10_000 && v.forks.every(isFork)
    && isLsn(v.endOfLogLsn) && (v.firstLogLsn === null || isLsn(v.firstLogLsn));
}

function isFork(value: unknown): value is RecoveryFork {
  return isObject(value) && isString(value.guid) && isLsn(value.epoch) && isLsn(value.firstLsn);
}

function isRefusal(value: unknown): value is Refusal {
  return isObject(value) && Number.isSafeInteger(value.number) && Array.isArray(value.args)
    && value.args.length <= 8 && value.args.every((arg) => typeof arg === "number" || isString(arg));
}

function isStatus(value: unknown): value is MirrorStatus {
  return isObject(value) && isLsn(value.redoneLsn) && isLsn(value.redoQueueBytes);
}

function isLogChain(value: unknown): value is LogChain {
  return isObject(value) && (value.lsn === null || isLsn(value.lsn));
}

const SESSION_FIELDS: Record<PartnerMessage["kind"], readonly string[]> = {
  startSession: ["roleSequence", "safety", "safetySequence", "timeoutSeconds", "suspendedSequence", "failoverLsn"],
  ackHardened: ["lsn"],
  suspend: ["suspendedSequence"],
  resume: ["suspendedSequence"],
  settings: ["safety", "safetySequence", "timeoutSeconds"],
  off: [],
  failover: ["failoverLsn", "roleSequence"],
  ping: ["state"],
};

/** Shape check of a partner message: its kind is known and its numeric fields are integers. */
function isPartnerMessage(value: unknown): value is PartnerMessage {
  if (!isObject(value) || typeof value.kind !== "string" || !(value.kind in SESSION_FIELDS)) return false;
  const fields = SESSION_FIELDS[value.kind as PartnerMessage["kind"]];
  if (!fields.every((field) => isLsn(value[field]))) return false;
  // Codes index SQL Server's _desc tables: only the values SQL Server defines are accepted.
  if ("safety" in value && !(value.safety === 0 || value.safety === 1 || value.safety === 2)) return false;
  if ("state" in value && !(Number.isInteger(value.state) && (value.state as number) <= 4)) return false;
  if (value.kind === "startSession") {
    return (value.mirroringGuid === null || isString(value.mirroringGuid)) && typeof value.isSuspended === "boolean";
  }
  return true;
}
