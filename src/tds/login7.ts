// LOGIN7 (MS-TDS 2.2.6.4), all little-endian. A fixed part (94 bytes from TDS 7.2, 86 before)
// of scalars and (offset u16, length u16) pairs pointing at UTF-16LE strings later in the
// payload; offsets count from the payload start. Every pair is checked against the declared
// Length before it is read: a hostile login must end as ProtocolViolation("login7"), never as an
// out-of-bounds read. Field table in spec/tds.md §1.4.
import { ProtocolViolation } from "./packet.js";

/** fExtension in OptionFlags3: ibExtension points at a u32 holding the FeatureExt offset. */
const OPTION3_EXTENSION = 0x10;
const OPTION2_INTEGRATED_SECURITY = 0x80;
const TYPE_READ_ONLY_INTENT = 0x20;
const FIXED_BYTES_72 = 94; // TDS 7.2+: adds ChangePassword and cbSSPILong
const FIXED_BYTES_70 = 86;
const TDS_7_2 = 0x72000000;
const FEATURE_TERMINATOR = 0xff;

export interface Login7Feature {
  readonly id: number;
  readonly data: Buffer;
}

export interface Login7 {
  /** As sent, little-endian on the wire: 0x74000004 for TDS 7.4. */
  readonly tdsVersion: number;
  readonly packetSize: number;
  readonly clientProgVersion: number;
  readonly clientPid: number;
  readonly connectionId: number;
  readonly optionFlags1: number;
  readonly optionFlags2: number;
  readonly typeFlags: number;
  readonly optionFlags3: number;
  readonly integratedSecurity: boolean;
  readonly readOnlyIntent: boolean;
  readonly hostName: string;
  readonly userName: string;
  /** De-obfuscated. */
  readonly password: string;
  readonly appName: string;
  readonly serverName: string;
  readonly libraryName: string;
  readonly language: string;
  readonly database: string;
  /** Length of the SSPI blob (integrated security); the blob itself is not kept. */
  readonly sspiBytes: number;
  /** FeatureExt blocks in order (0x0A UTF8_SUPPORT from tedious and FreeTDS). */
  readonly features: readonly Login7Feature[];
}

/** Byte range of a variable field inside the login, already checked against its Length. */
interface Span {
  readonly offset: number;
  readonly bytes: number;
}

function fail(message: string): never {
  throw new ProtocolViolation("login7", message);
}

/** Parses and validates a LOGIN7 payload; throws ProtocolViolation("login7") naming the field. */
export function parseLogin7(payload: Buffer): Login7 {
  if (payload.length < 4) fail(`Length: payload of ${payload.length} bytes`);
  const length = payload.readUInt32LE(0);
  if (length > payload.length) fail(`Length ${length} exceeds the ${payload.length}-byte message`);
  // Parse only the declared Length: later bytes belong to no field.
  const login = payload.subarray(0, length);
  if (length < FIXED_BYTES_70) fail(`Length ${length} below the fixed part`);
  const tdsVersion = login.readUInt32LE(4);
  const modern = tdsVersion >= TDS_7_2;
  if (modern && length < FIXED_BYTES_72) fail(`Length ${length} below the TDS 7.2 fixed part`);
  const optionFlags2 = login[25]!;
  const typeFlags = login[26]!;
  const optionFlags3 = login[27]!;
  return {
    tdsVersion,
    packetSize: login.readUInt32LE(8),
    clientProgVersion: login.readUInt32LE(12),
    clientPid: login.readUInt32LE(16),
    connectionId: login.readUInt32LE(20),
    optionFlags1: login[24]!,
    optionFlags2,
    typeFlags,
    optionFlags3,
    integratedSecurity: (optionFlags2 & OPTION2_INTEGRATED_SECURITY) !== 0,
    readOnlyIntent: (typeFlags & TYPE_READ_ONLY_INTENT) !== 0,
    ...readStrings(login, modern),
    sspiBytes: sspiSpan(login, modern).bytes,
    features: (optionFlags3 & OPTION3_EXTENSION) !== 0 ? readFeatures(login) : [],
  };
}

type LoginStrings = Pick<Login7, "hostName" | "userName" | "password" | "appName" |
  "serverName" | "libraryName" | "language" | "database">;

function readStrings(login: Buffer, modern: boolean): LoginStrings {
  // Validated even though unused, so a lying pair is caught wherever it is.
  textSpan(login, 82, "AtchDBFile");
  if (modern) textSpan(login, 86, "ChangePassword");
  const password = textSpan(login, 44, "Password");
  return {
    hostName: text(login, hostNameSpan(login)),
    userName: text(login, textSpan(login, 40, "UserName")),
    password: deobfuscate(login, password).toString("utf16le"),
    appName: text(login, textSpan(login, 48, "AppName")),
    serverName: text(login, textSpan(login, 52, "ServerName")),
    libraryName: text(login, textSpan(login, 60, "CltIntName")),
    language: text(login, textSpan(login, 64, "Language")),
    database: text(login, textSpan(login, 68, "Database")),
  };
}

/**
 * tedious 19 (login7-payload.js) writes the data offset into cchHostName when it has no host
 * name, so that exact pair (cch equal to ib) means "empty" rather than a lie.
 */
function hostNameSpan(login: Buffer): Span {
  const offset = login.readUInt16LE(36);
  const chars = login.readUInt16LE(38);
  if (chars === offset && offset + chars * 2 > login.length) return { offset, bytes: 0 };
  return textSpan(login, 36, "HostName");
}

/** A pair whose length counts UTF-16 characters. */
function textSpan(login: Buffer, pairAt: number, field: string): Span {
  return span(login, login.readUInt16LE(pairAt), login.readUInt16LE(pairAt + 2) * 2, field);
}

function span(login: Buffer, offset: number, bytes: number, field: string): Span {
  if (offset + bytes > login.length) {
    fail(`${field}: offset ${offset} + ${bytes} bytes beyond Length ${login.length}`);
  }
  return { offset, bytes };
}

function text(source: Buffer, at: Span): string {
  return source.toString("utf16le", at.offset, at.offset + at.bytes);
}

/** Undoes the client's scramble (nibble swap, then XOR 0xA5) byte by byte. */
function deobfuscate(login: Buffer, at: Span): Buffer {
  const out = Buffer.alloc(at.bytes);
  for (let i = 0; i < at.bytes; i++) {
    const b = login[at.offset + i]! ^ 0xa5;
    out[i] = ((b & 0x0f) << 4) | (b >> 4);
  }
  return out;
}

/** SSPI's length is in bytes; 0xFFFF means the real length is cbSSPILong (TDS 7.2+). */
function sspiSpan(login: Buffer, modern: boolean): Span {
  const offset = login.readUInt16LE(78);
  const short = login.readUInt16LE(80);
  const bytes = short === 0xffff && modern ? login.readUInt32LE(90) : short;
  return span(login, offset, bytes, "SSPI");
}

/** ibExtension points at a u32 offset of the FeatureExt block: {id u8, len u32, data}*, 0xFF. */
function readFeatures(login: Buffer): Login7Feature[] {
  const pointer = span(login, login.readUInt16LE(56), 4, "Extension");
  if (login.readUInt16LE(58) < 4) fail(`Extension: length ${login.readUInt16LE(58)} below 4`);
  let at = login.readUInt32LE(pointer.offset);
  const features: Login7Feature[] = [];
  for (;;) {
    if (at >= login.length) fail(`FeatureExt: no 0xFF terminator before byte ${login.length}`);
    const id = login[at]!;
    if (id === FEATURE_TERMINATOR) return features;
    if (at + 5 > login.length) {
      fail(`FeatureExt: no 0xFF terminator (byte 0x${id.toString(16)} at ${at} starts no feature)`);
    }
    const data = span(login, at + 5, login.readUInt32LE(at + 1), `FeatureExt 0x${id.toString(16)}`);
    features.push({ id, data: Buffer.from(login.subarray(data.offset, data.offset + data.bytes)) });
    at = data.offset + data.bytes;
  }
}
