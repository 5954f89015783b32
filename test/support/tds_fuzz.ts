// Building blocks of the TDS fuzz test: a client-side model of the server's packet framing (so
// the test knows whether the server may legitimately still be waiting for bytes), a reader that
// checks every server response is made of whole, well-formed TDS messages, seeded generators of
// hostile packets and random T-SQL, and a raw-socket login.
import type * as net from "node:net";
import { buildSqlBatch } from "../../src/tds/client_messages.js";
import { login7, packet, prelogin, rawSocket } from "./tds_raw.js";
import { Prng } from "./workload.js";

/** MS-TDS: the largest packet size a client can negotiate (header included). */
export const PACKET_BYTES_MAX = 32_767;
/** DESIGN/issue 4: the largest request message the server buffers after login. */
export const MESSAGE_BYTES_MAX = 64 * 1024 * 1024;
/** The server buffers at most this much of a message before login. */
export const MESSAGE_BYTES_BEFORE_LOGIN = 64 * 1024;

export const Type = { SQL_BATCH: 0x01, RPC: 0x03, REPLY: 0x04, ATTENTION: 0x06, BULK: 0x07,
  TM: 0x0e, LOGIN7: 0x10, PRELOGIN: 0x12 } as const;
const EOM = 0x01;
const IGNORE = 0x02;

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** A Prng with the helpers a generator needs. One per case, derived from (seed, case index). */
export class Rand {
  private readonly prng: Prng;
  constructor(seed: number, stream = 0) {
    this.prng = new Prng((seed ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0);
    for (let i = 0; i < 4; i++) this.prng.next();
  }
  /** Integer in lo..hi, both included. */
  int(lo: number, hi: number): number {
    const span = hi - lo + 1;
    if (span > 0xffffffff) return lo + Math.floor((this.prng.next() / 2 ** 32) * span);
    return lo + this.prng.below(span);
  }
  chance(p: number): boolean { return this.prng.next() / 2 ** 32 < p; }
  pick<T>(items: readonly T[]): T { return items[this.prng.below(items.length)]!; }
  /** Small sizes more often than large ones: 2^(uniform bits) then uniform below it. */
  size(max: number): number {
    const bits = this.int(0, Math.ceil(Math.log2(max + 1)));
    return Math.min(max, this.int(0, 2 ** bits));
  }
  bytes(count: number): Buffer {
    const out = Buffer.alloc(count);
    for (let i = 0; i < count; i += 4) {
      const word = this.prng.next();
      for (let j = 0; j < 4 && i + j < count; j++) out[i + j] = (word >>> (j * 8)) & 0xff;
    }
    return out;
  }
  /** Picks by weight: [[weight, value], …]. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.prng.next() / 2 ** 32 * total;
    for (const [weight, value] of choices) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }
}

// ---------------------------------------------------------------------------------------------
// What the server must make of the bytes a client sent: a model of TDS packet framing

export interface SentMessage {
  readonly type: number;
  /** Status of the last packet. */
  readonly status: number;
  readonly payload: Buffer;
}

export interface Framing {
  /** Complete messages (last packet with EOM), in order, up to the first violation. */
  readonly messages: SentMessage[];
  /** A framing error the server must answer by closing the connection. */
  readonly violation: string | null;
  /** A stream the protocol leaves open to interpretation (ATTENTION inside a message). */
  readonly ambiguous: string | null;
  /** Bytes after the last complete message: the server may legitimately wait for the rest. */
  readonly partial: boolean;
}

export interface FramingLimits { readonly packetBytesMax: number; readonly messageBytesMax: number }

export const AFTER_LOGIN: FramingLimits = { packetBytesMax: PACKET_BYTES_MAX, messageBytesMax: MESSAGE_BYTES_MAX };
export const BEFORE_LOGIN: FramingLimits = { packetBytesMax: PACKET_BYTES_MAX, messageBytesMax: MESSAGE_BYTES_BEFORE_LOGIN };

/** Splits bytes into packets and messages as MS-TDS 2.2.3 defines them. */
export function frame(bytes: Buffer, limits: FramingLimits = AFTER_LOGIN): Framing {
  const messages: SentMessage[] = [];
  let current: { type: number; parts: Buffer[]; bytes: number } | null = null;
  let at = 0;
  const result = (violation: string | null, ambiguous: string | null, partial: boolean): Framing =>
    ({ messages, violation, ambiguous, partial });
  for (;;) {
    if (at === bytes.length) return result(null, null, current !== null);
    if (bytes.length - at < 8) return result(null, null, true);
    const type = bytes[at]!;
    const status = bytes[at + 1]!;
    const length = bytes.readUInt16BE(at + 2);
    if (length < 8) return result(`packet length ${length} below the header at byte ${at}`, null, false);
    if (length > limits.packetBytesMax) {
      return result(`packet length ${length} above ${limits.packetBytesMax} at byte ${at}`, null, false);
    }
    if (current !== null && current.type !== type) {
      if (type === Type.ATTENTION) return result(null, `ATTENTION inside a message at byte ${at}`, false);
      return result(`packet type 0x${type.toString(16)} inside a 0x${current.type.toString(16)} message at byte ${at}`,
        null, false);
    }
    const total = (current?.bytes ?? 0) + length - 8;
    if (total > limits.messageBytesMax) return result(`message of ${total} bytes`, null, false);
    if (at + length > bytes.length) return result(null, null, true);
    current ??= { type, parts: [], bytes: 0 };
    current.parts.push(bytes.subarray(at + 8, at + length));
    current.bytes = total;
    at += length;
    if ((status & EOM) !== 0) {
      messages.push({ type, status, payload: Buffer.concat(current.parts) });
      current = null;
    }
  }
}

/** Responses the server owes: one per request, attentions pending at once may share one. */
export function minimumAnswers(messages: readonly SentMessage[]): number {
  const attentions = messages.filter((m) => m.type === Type.ATTENTION).length;
  return messages.length - attentions + Math.min(1, attentions);
}

// ---------------------------------------------------------------------------------------------
// The server's side of the conversation, checked as it arrives

/**
 * Reads server output: every packet must be a tabular result (0x04) of 8..packetBytesMax bytes
 * with consecutive PacketIDs, and (after login) every message must be empty or end with a final
 * DONE/DONEPROC/DONEINPROC (MORE clear). Records whole messages and whether the socket closed.
 */
export class Responses {
  readonly messages: Buffer[] = [];
  /** Date.now() when each message completed, and when the last byte arrived. */
  readonly messageTimes: number[] = [];
  lastDataAt = 0;
  closed = false;
  /** Set when the test itself closed the socket. */
  clientClosed = false;
  problem: string | null = null;
  /** Check the final DONE of each message (not for the PRELOGIN reply). */
  checkDone = false;
  packetBytesMax = PACKET_BYTES_MAX;
  /** False once the client spoke TLS first (TDS 8.0): the server's bytes are TLS records then. */
  parse = true;
  spid = -1;
  private pending: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private lastId = 0;
  private wake: (() => void)[] = [];

  constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => undefined);
    socket.once("close", () => {
      this.closed = true;
      this.notify();
    });
  }

  /** Bytes of an unfinished response packet or message. */
  get partialBytes(): number {
    return this.pending.length + this.parts.reduce((sum, part) => sum + part.length, 0);
  }

  /**
   * Waits until `done()` holds (true), the socket closes, or the server stays silent for
   * `silenceMs` (then `done()`): a slow server that keeps sending is not a hung one. capMs
   * bounds the whole wait all the same.
   */
  async until(done: () => boolean, silenceMs: number, capMs = 60_000): Promise<boolean> {
    const started = Date.now();
    while (!done()) {
      const now = Date.now();
      const left = Math.min(Math.max(started, this.lastDataAt) + silenceMs, started + capMs) - now;
      if (this.closed || left <= 0) return done();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(finish, left);
        function finish(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wake.push(finish);
      });
    }
    return true;
  }

  /** Waits for the server to close (true) until it has been silent for ms. */
  closedWithin(ms: number): Promise<boolean> {
    return this.until(() => this.closed, ms);
  }

  close(): void {
    this.clientClosed = !this.closed;
    this.socket.destroy();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = [];
    for (const resolve of wake) resolve();
  }

  private onData(chunk: Buffer): void {
    this.lastDataAt = Date.now();
    if (!this.parse) return this.notify();
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.problem === null && this.pending.length >= 8) {
      const type = this.pending[0]!;
      const status = this.pending[1]!;
      const length = this.pending.readUInt16BE(2);
      const id = this.pending[6]!;
      if (type !== Type.REPLY) this.problem = `response packet type 0x${type.toString(16)}`;
      else if ((status & ~EOM) !== 0) this.problem = `response packet status 0x${status.toString(16)}`;
      else if (length < 8 || length > this.packetBytesMax) this.problem = `response packet length ${length}`;
      if (this.problem !== null) break;
      if (this.pending.length < length) break;
      if (this.parts.length > 0 && id !== ((this.lastId + 1) & 0xff)) {
        this.problem = `response PacketID ${id} after ${this.lastId}`;
        break;
      }
      this.lastId = id;
      this.spid = this.pending.readUInt16BE(4);
      this.parts.push(this.pending.subarray(8, length));
      this.pending = this.pending.subarray(length);
      if ((status & EOM) !== 0) {
        const payload = Buffer.concat(this.parts);
        this.parts = [];
        if (this.checkDone && !endsWithFinalDone(payload)) {
          this.problem = `response message of ${payload.length} bytes does not end with a final DONE: `
            + `…${payload.subarray(Math.max(0, payload.length - 40)).toString("hex")}`;
        }
        this.messages.push(payload);
        this.messageTimes.push(Date.now());
      }
    }
    if (this.pending.length === 0) this.pending = Buffer.alloc(0);
    this.notify();
  }
}

/** Empty (the answer to an IGNOREd request) or ending with a DONE-family token, MORE clear. */
export function endsWithFinalDone(payload: Buffer): boolean {
  if (payload.length === 0) return true;
  if (payload.length < 13) return false;
  const token = payload[payload.length - 13]!;
  const status = payload.readUInt16LE(payload.length - 12);
  return (token === 0xfd || token === 0xfe || token === 0xff) && (status & 0x01) === 0;
}

/** Walks a login response or an error-only reply: LOGINACK present? ERROR numbers? (Only the
 * tokens these carry: ENVCHANGE, INFO, ERROR, LOGINACK, FEATUREEXTACK, DONE*.) */
export function loginTokens(payload: Buffer): { loginAck: boolean; errors: number[]; walked: boolean } {
  const errors: number[] = [];
  let loginAck = false;
  let at = 0;
  while (at < payload.length) {
    const token = payload[at]!;
    if (token === 0xe3 || token === 0xab || token === 0xaa || token === 0xad) {
      if (at + 3 > payload.length) return { loginAck, errors, walked: false };
      const length = payload.readUInt16LE(at + 1);
      if (token === 0xad) loginAck = true;
      if (token === 0xaa && at + 7 <= payload.length) errors.push(payload.readInt32LE(at + 3));
      at += 3 + length;
    } else if (token === 0xfd || token === 0xfe || token === 0xff) {
      at += 13;
    } else if (token === 0xae) {
      at += 1;
      while (at < payload.length && payload[at] !== 0xff) {
        if (at + 5 > payload.length) return { loginAck, errors, walked: false };
        at += 5 + payload.readUInt32LE(at + 1);
      }
      at += 1;
    } else {
      return { loginAck, errors, walked: false };
    }
  }
  return { loginAck, errors, walked: at === payload.length };
}

// ---------------------------------------------------------------------------------------------
// Raw client

export interface RawClient {
  readonly socket: net.Socket;
  readonly responses: Responses;
}

export async function openRaw(port: number): Promise<RawClient> {
  const socket = await rawSocket(port);
  socket.setNoDelay(true);
  return { socket, responses: new Responses(socket) };
}

/** PRELOGIN + LOGIN7 on a raw socket; throws (with what came back) unless the server accepts. */
export async function loginRaw(port: number, password: string, database: string, ms: number): Promise<RawClient> {
  const client = await openRaw(port);
  const { socket, responses } = client;
  socket.write(prelogin());
  if (!await responses.until(() => responses.messages.length >= 1, ms)) {
    client.responses.close();
    throw new Error(`valid PRELOGIN: no reply (closed=${responses.closed})`);
  }
  socket.write(login7("sa", password, database));
  const answered = await responses.until(() => responses.messages.length >= 2, ms);
  const reply = responses.messages[1];
  if (!answered || reply === undefined || !loginTokens(reply).loginAck) {
    client.responses.close();
    throw new Error(`valid LOGIN7: no LOGINACK (closed=${responses.closed}, `
      + `reply=${reply?.subarray(0, 200).toString("hex") ?? "none"})`);
  }
  responses.messages.length = 0;
  responses.messageTimes.length = 0;
  responses.checkDone = true;
  responses.packetBytesMax = 4096;
  return client;
}

/** Writes pieces one by one (separate TCP segments where the kernel allows); stops on close. */
export async function writePieces(client: RawClient, pieces: readonly Buffer[], pauseMs: (i: number) => number): Promise<void> {
  for (const [i, piece] of pieces.entries()) {
    if (client.socket.destroyed || client.responses.closed) return;
    client.socket.write(piece);
    const pause = pauseMs(i);
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** Waits until the socket can take more, or closed. */
export function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed || !socket.writableNeedDrain) return resolve();
    const done = (): void => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
}

// ---------------------------------------------------------------------------------------------
// Requests: valid ones, broken ones, random ones

/** A SQL batch whose answer is recognisable: one row, column probe_ok, a random int. */
export interface Probe {
  readonly sql: string;
  answers(payload: Buffer): boolean;
}

export function probe(rand: Rand, padding = 0): Probe {
  const value = rand.int(1, 0x7ffffffe);
  const pad = padding > 0 ? `/* ${"p".repeat(padding)} */ ` : "";
  const int = Buffer.alloc(4);
  int.writeInt32LE(value);
  const name = Buffer.from("probe_ok", "utf16le");
  return {
    sql: `${pad}SELECT ${value} AS probe_ok`,
    answers: (payload) => payload.includes(name) && payload.includes(int),
  };
}

/** One packet; `length` overrides the header's Length field. */
export function rawPacket(type: number, status: number, payload: Buffer, id = 1, length?: number): Buffer {
  const header = Buffer.alloc(8);
  header[0] = type;
  header[1] = status;
  header.writeUInt16BE(length ?? payload.length + 8, 2);
  header[6] = id & 0xff;
  return Buffer.concat([header, payload]);
}

/** A whole message split into packets of the given payload sizes (the rest in the last). */
export function splitMessage(type: number, payload: Buffer, sizes: readonly number[], lastStatus = EOM,
  firstStatusBits = 0): Buffer[] {
  const packets: Buffer[] = [];
  let at = 0;
  let id = 1;
  for (const size of sizes) {
    if (at + size >= payload.length) break;
    packets.push(rawPacket(type, packets.length === 0 ? firstStatusBits : 0, payload.subarray(at, at + size), id++));
    at += size;
  }
  // Whatever the sizes left over goes in packets of the default negotiated size.
  for (; payload.length - at > 4088; at += 4088) {
    packets.push(rawPacket(type, packets.length === 0 ? firstStatusBits : 0, payload.subarray(at, at + 4088), id++));
  }
  packets.push(rawPacket(type, lastStatus | (packets.length === 0 ? firstStatusBits : 0), payload.subarray(at), id));
  return packets;
}

/** Packet sizes that cut a payload into many pieces of at most max bytes (some empty). */
export function randomSizes(rand: Rand, payloadBytes: number, max: number): number[] {
  const sizes: number[] = [];
  let left = payloadBytes;
  while (left > 0 && sizes.length < 2000) {
    const size = rand.chance(0.05) ? 0 : rand.int(1, max);
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

export function sqlBatchPayload(sql: string): Buffer {
  return buildSqlBatch(sql);
}

/** A valid packet stream for a SQL batch, packets of at most 4096 bytes. */
export function batchPackets(sql: string): Buffer {
  const payload = buildSqlBatch(sql);
  const sizes: number[] = [];
  for (let left = payload.length; left > 4088; left -= 4088) sizes.push(4088);
  return Buffer.concat(splitMessage(Type.SQL_BATCH, payload, sizes));
}

export function flipBits(bytes: Buffer, rand: Rand, flips: number, from = 0): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < flips; i++) {
    const at = rand.int(from, out.length - 1);
    out[at] = out[at]! ^ (1 << rand.int(0, 7));
  }
  return out;
}

/** ALL_HEADERS with one transaction descriptor header: what TDS 7.2+ requests start with. */
export function allHeaders(): Buffer {
  return buildSqlBatch("");
}

export { EOM, IGNORE, packet, prelogin, login7 };

// ---------------------------------------------------------------------------------------------
// Random T-SQL from tokens. Nothing here can run away: no loops, WAITFOR, recursion words,
// database-level DDL, logins, SHUTDOWN/KILL, NOEXEC/PARSEONLY/FMTONLY or big-allocation functions.

const KEYWORDS = `SELECT FROM WHERE INSERT INTO VALUES UPDATE SET DELETE BEGIN TRAN TRANSACTION COMMIT
  ROLLBACK SAVE DECLARE EXEC EXECUTE IF ELSE CASE WHEN THEN END AND OR NOT NULL IS IN LIKE BETWEEN
  EXISTS AS ORDER BY GROUP HAVING TOP DISTINCT UNION ALL JOIN LEFT INNER CROSS ON CREATE TABLE INDEX
  VIEW PROCEDURE DROP USE PRINT RAISERROR THROW TRY CATCH CAST CONVERT INT BIGINT SMALLINT TINYINT
  NVARCHAR VARCHAR NCHAR MAX DECIMAL NUMERIC FLOAT REAL BIT DATETIME DATETIME2 DATE VARBINARY
  UNIQUEIDENTIFIER PRIMARY KEY IDENTITY DEFAULT CHECK UNIQUE OUTPUT NOCOUNT ON OFF XACT_ABORT
  ANSI_NULLS QUOTED_IDENTIFIER IMPLICIT_TRANSACTIONS COUNT SUM MIN AVG LEN UPPER LOWER ISNULL
  COALESCE ABS ROUND NEWID GETDATE SYSDATETIME DB_NAME DB_ID OBJECT_ID SCOPE_IDENTITY IIF NULLIF
  SUBSTRING CHARINDEX LTRIM RTRIM ESCAPE COLLATE WITH NOLOCK OFFSET FETCH NEXT ROWS ONLY OVER
  PARTITION ROW_NUMBER MERGE TRUNCATE ASC DESC GO RETURN BREAK CONTINUE STATISTICS SCHEMA`.split(/\s+/);
const IDENTIFIERS = ["t", "id", "s", "fuzz", "dbo", "dbo.t", "fuzz.dbo.t", "[t]", "[weird name]", "\"t\"",
  "#tmp", "##g", "@v", "@p1", "@@ROWCOUNT", "@@TRANCOUNT", "@@ERROR", "@@SPID", "@@VERSION",
  "@@SERVERNAME", "@@IDENTITY", "sys.tables", "sys.objects", "sys.columns", "sys.databases",
  "INFORMATION_SCHEMA.TABLES", "master", "x", "y", "*", "t.id", "t.s", "[", "]", "[unterminated"];
const PUNCTUATION = ["(", ")", "(", ")", ",", ",", ";", ";", ".", "*", "=", "<>", "!=", "<", ">", "<=", ">=",
  "+", "-", "/", "%", "&", "|", "^", "~", "--", "/*", "*/", "{", "}", ":", "?", "\nGO\n", "'", "N'", "\"", "$"];

function randomNumber(rand: Rand): string {
  return rand.pick([
    () => String(rand.int(0, 100)),
    () => String(rand.int(-2_147_483_648, 2_147_483_647)),
    () => rand.pick(["2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
      "9223372036854775808", "-9223372036854775808", "99999999999999999999999999999999999999",
      "1e308", "1e309", "-1e308", "1.5e-300", "0.0", "-0", ".5", "5.", "1.", "$12.50", "1e", "0x", "0xFF",
      `0x${"ab".repeat(rand.int(1, 40))}`, "123.456789012345678901234567890"]),
    () => `${rand.int(0, 99999)}.${rand.int(0, 99999)}`,
  ])();
}

function randomString(rand: Rand): string {
  const body = rand.pick([
    () => "abc",
    () => "",
    () => "it''s",
    () => "ünïcödé 李雷 𝄞",
    () => "x".repeat(rand.size(5000)),
    () => Array.from({ length: rand.int(0, 30) }, () => String.fromCharCode(rand.int(0, 0xffff))).join(""),
    () => "%_[a-z]",
  ])();
  const open = rand.chance(0.5) ? "N'" : "'";
  return rand.chance(0.95) ? `${open}${body}'` : `${open}${body}`;
}

/** Random T-SQL: a soup of keywords, names, literals and punctuation; sometimes a real statement. */
export function randomSql(rand: Rand): string {
  if (rand.chance(0.15)) {
    return rand.pick([
      "SELECT COUNT(*) AS n FROM t",
      "SELECT TOP 3 id, s FROM t ORDER BY id DESC",
      `INSERT INTO t (id, s) VALUES (${rand.int(1000, 1_000_000_000)}, N'fuzz')`,
      `UPDATE t SET s = N'u' WHERE id = ${rand.int(1, 20)}`,
      `BEGIN TRAN; DELETE FROM t WHERE id = ${rand.int(1, 20)}; ROLLBACK`,
      "SELECT 1/0", "SELECT CAST('x' AS INT)", "THROW 50001, 'fuzz', 1",
      "RAISERROR('fuzz', 16, 1)", "DECLARE @v INT = 1; SELECT @v + 1 AS v",
      "SELECT * FROM nowhere", "BEGIN TRY SELECT 1/0 END TRY BEGIN CATCH SELECT ERROR_NUMBER() AS e END CATCH",
    ]);
  }
  const count = rand.int(1, 40);
  let sql = "";
  for (let i = 0; i < count; i++) {
    const token = rand.weighted<() => string>([
      [10, () => rand.pick(KEYWORDS)],
      [5, () => rand.pick(IDENTIFIERS)],
      [3, () => randomNumber(rand)],
      [3, () => randomString(rand)],
      [5, () => rand.pick(PUNCTUATION)],
    ])();
    sql += rand.pick([" ", " ", " ", "", "\n", "\t", "\r\n"]) + (rand.chance(0.1) ? token.toLowerCase() : token);
  }
  return sql;
}
