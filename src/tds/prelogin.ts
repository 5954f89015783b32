// PRELOGIN (MS-TDS 2.2.6.5): an option table of {token u8, offset u16 BE, length u16 BE}
// terminated by 0xFF, then the option data; offsets count from the payload start. The reply uses
// the same layout. See spec/tds.md §1.2 for what tedious and FreeTDS send and require.
import { ProtocolViolation } from "./packet.js";

export const Encryption = { OFF: 0, ON: 1, NOT_SUP: 2, REQ: 3 } as const;

const Option = {
  VERSION: 0x00,
  ENCRYPTION: 0x01,
  INSTOPT: 0x02,
  THREADID: 0x03,
  MARS: 0x04,
  TERMINATOR: 0xff,
} as const;

const ENTRY_BYTES = 5;

/** The client's options we use; null when absent (or too short to hold a value). */
export interface Prelogin {
  /** Raw 6 bytes: major u8, minor u8, build u16 BE, subbuild u16 BE. */
  readonly version: Buffer | null;
  readonly encryption: number | null;
  /** Instance name up to its NUL; FreeTDS sends "MSSQLServer", tedious sends an empty one. */
  readonly instance: string | null;
  readonly threadId: number | null;
  readonly mars: number | null;
}

interface OptionEntry {
  readonly token: number;
  readonly data: Buffer;
}

/**
 * Parses a client PRELOGIN payload. Every option's (offset, length) must lie inside the payload
 * and the table must end with 0xFF; otherwise throws ProtocolViolation("prelogin"). The first
 * occurrence of a repeated option wins; unknown options (TRACEID, FEDAUTHREQUIRED…) are skipped.
 */
export function parsePrelogin(payload: Buffer): Prelogin {
  const found = new Map<number, Buffer>();
  for (const entry of optionEntries(payload)) {
    if (!found.has(entry.token)) found.set(entry.token, entry.data);
  }
  const version = found.get(Option.VERSION);
  const encryption = found.get(Option.ENCRYPTION);
  const instance = found.get(Option.INSTOPT);
  const threadId = found.get(Option.THREADID);
  const mars = found.get(Option.MARS);
  if (encryption !== undefined && encryption.length < 1) {
    throw new ProtocolViolation("prelogin", "ENCRYPTION option has no data");
  }
  return {
    version: version !== undefined && version.length >= 6 ? Buffer.from(version.subarray(0, 6)) :
      null,
    encryption: encryption?.[0] ?? null,
    instance: instance === undefined ? null : nulTerminated(instance),
    threadId: threadId !== undefined && threadId.length >= 4 ? threadId.readUInt32BE(0) : null,
    mars: mars?.[0] ?? null,
  };
}

function* optionEntries(payload: Buffer): Generator<OptionEntry> {
  for (let at = 0; ; at += ENTRY_BYTES) {
    if (at >= payload.length) {
      throw new ProtocolViolation("prelogin", "option table has no 0xFF terminator");
    }
    const token = payload[at]!;
    if (token === Option.TERMINATOR) return;
    if (at + ENTRY_BYTES > payload.length) {
      throw new ProtocolViolation("prelogin", `option 0x${token.toString(16)} entry truncated`);
    }
    const offset = payload.readUInt16BE(at + 1);
    const length = payload.readUInt16BE(at + 3);
    if (offset + length > payload.length) {
      throw new ProtocolViolation("prelogin",
        `option 0x${token.toString(16)} data ${offset}+${length} beyond ${payload.length} bytes`);
    }
    yield { token, data: payload.subarray(offset, offset + length) };
  }
}

function nulTerminated(data: Buffer): string {
  const end = data.indexOf(0);
  return data.toString("latin1", 0, end === -1 ? data.length : end);
}

export interface PreloginReplyOptions {
  /** major, minor, build (u16), subbuild (u16), e.g. [16, 0, 1000, 0]. */
  readonly version: readonly [major: number, minor: number, build: number, subbuild: number];
  /** One of Encryption; a server without a certificate must answer NOT_SUP, never OFF. */
  readonly encryption: number;
}

/**
 * The server's PRELOGIN reply payload: VERSION, ENCRYPTION, INSTOPT 0x00, THREADID (empty),
 * MARS 0x00, in that order. MARS is always present because FreeTDS ≥ 1.5 drops to TDS 7.1
 * without it; FEDAUTHREQUIRED is never sent (no Azure AD).
 */
export function buildPreloginReply(options: PreloginReplyOptions): Buffer {
  const [major, minor, build, subbuild] = options.version;
  const version = Buffer.alloc(6);
  version[0] = major & 0xff;
  version[1] = minor & 0xff;
  version.writeUInt16BE(build & 0xffff, 2);
  version.writeUInt16BE(subbuild & 0xffff, 4);
  const entries: OptionEntry[] = [
    { token: Option.VERSION, data: version },
    { token: Option.ENCRYPTION, data: Buffer.from([options.encryption & 0xff]) },
    { token: Option.INSTOPT, data: Buffer.from([0]) },
    { token: Option.THREADID, data: Buffer.alloc(0) },
    { token: Option.MARS, data: Buffer.from([0]) },
  ];
  return encodeOptions(entries);
}

function encodeOptions(entries: readonly OptionEntry[]): Buffer {
  const tableBytes = entries.length * ENTRY_BYTES + 1;
  const table = Buffer.alloc(tableBytes);
  let dataOffset = tableBytes;
  entries.forEach((entry, index) => {
    const at = index * ENTRY_BYTES;
    table[at] = entry.token;
    table.writeUInt16BE(dataOffset, at + 1);
    table.writeUInt16BE(entry.data.length, at + 3);
    dataOffset += entry.data.length;
  });
  table[tableBytes - 1] = Option.TERMINATOR;
  return Buffer.concat([table, ...entries.map((entry) => entry.data)]);
}
