// Payloads of the handshake frames (HELLO, HELLO_REPLY, AUTH, ACCEPT, REFUSE): UTF-8 JSON
// objects with exactly the listed fields, binary fields in canonical base64. Pure. Every field
// is validated (type, length, enum) before use, because a HELLO comes from a peer nobody has
// authenticated yet.
import { errorCatalog, type ErrorName } from "../errors/catalog.js";
import { SqlError } from "../errors/sql_error.js";
import { CERTIFICATE_BYTES_MAX } from "./peer_certificate.js";

export const PROTOCOL_VERSION = 1;
export const NONCE_BYTES = 32;
/** RSA-8192 signatures are 1 KiB; nothing an endpoint certificate can make is longer. */
export const SIGNATURE_BYTES_MAX = 1024;
/** sysname is nvarchar(128). */
export const LOGIN_NAME_CHARS_MAX = 128;
export const REFUSE_MESSAGE_CHARS_MAX = 2048;

/** CREATE ENDPOINT … ENCRYPTION = DISABLED | SUPPORTED | REQUIRED. */
export type EndpointEncryption = "DISABLED" | "SUPPORTED" | "REQUIRED";
/** CREATE ENDPOINT … ALGORITHM; the list is in preference order ("AES RC4" prefers AES). */
export type EndpointAlgorithm = "AES" | "RC4";

export const ENCRYPTIONS: readonly EndpointEncryption[] = ["DISABLED", "SUPPORTED", "REQUIRED"];
export const ALGORITHMS: readonly EndpointAlgorithm[] = ["AES", "RC4"];

export interface HelloMessage {
  readonly protocolVersion: number;
  readonly encryption: EndpointEncryption;
  readonly algorithms: readonly EndpointAlgorithm[];
  readonly certificateDer: Buffer;
  readonly nonce: Buffer;
}

export interface HelloReplyMessage {
  readonly protocolVersion: number;
  readonly certificateDer: Buffer;
  readonly nonce: Buffer;
  readonly encrypt: boolean;
  /** The negotiated algorithm; null when the connection stays unencrypted. */
  readonly algorithm: EndpointAlgorithm | null;
  readonly signature: Buffer;
}

export interface AuthMessage {
  readonly signature: Buffer;
}

export interface AcceptMessage {
  readonly encrypt: boolean;
  readonly algorithm: EndpointAlgorithm | null;
  /** The login the accepting endpoint mapped the connecting certificate's owner to. */
  readonly peerLogin: string;
}

export interface RefuseMessage {
  readonly number: number;
  readonly symbol: string;
  readonly message: string;
}

/** A payload that does not decode: the reason goes into a 28045. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export function encodeHello(hello: HelloMessage): Buffer {
  return json({
    protocolVersion: hello.protocolVersion, encryption: hello.encryption, algorithms: hello.algorithms,
    certificateDer: hello.certificateDer.toString("base64"), nonce: hello.nonce.toString("base64"),
  });
}

export function decodeHello(payload: Buffer): Decoded<HelloMessage> {
  return decodeObject(payload, "HELLO", ["protocolVersion", "encryption", "algorithms", "certificateDer", "nonce"],
    (field) => ({
      protocolVersion: field.integer("protocolVersion"),
      encryption: field.oneOf("encryption", ENCRYPTIONS),
      algorithms: field.algorithms("algorithms"),
      certificateDer: field.bytes("certificateDer", 1, CERTIFICATE_BYTES_MAX),
      nonce: field.bytes("nonce", NONCE_BYTES, NONCE_BYTES),
    }));
}

export function encodeHelloReply(reply: HelloReplyMessage): Buffer {
  return json({
    protocolVersion: reply.protocolVersion, certificateDer: reply.certificateDer.toString("base64"),
    nonce: reply.nonce.toString("base64"), encrypt: reply.encrypt, algorithm: reply.algorithm,
    signature: reply.signature.toString("base64"),
  });
}

export function decodeHelloReply(payload: Buffer): Decoded<HelloReplyMessage> {
  return decodeObject(payload, "HELLO_REPLY",
    ["protocolVersion", "certificateDer", "nonce", "encrypt", "algorithm", "signature"], (field) => ({
      protocolVersion: field.integer("protocolVersion"),
      certificateDer: field.bytes("certificateDer", 1, CERTIFICATE_BYTES_MAX),
      nonce: field.bytes("nonce", NONCE_BYTES, NONCE_BYTES),
      encrypt: field.boolean("encrypt"),
      algorithm: field.nullable("algorithm", () => field.oneOf("algorithm", ALGORITHMS)),
      signature: field.bytes("signature", 1, SIGNATURE_BYTES_MAX),
    }));
}

export function encodeAuth(auth: AuthMessage): Buffer {
  return json({ signature: auth.signature.toString("base64") });
}

export function decodeAuth(payload: Buffer): Decoded<AuthMessage> {
  return decodeObject(payload, "AUTH", ["signature"],
    (field) => ({ signature: field.bytes("signature", 1, SIGNATURE_BYTES_MAX) }));
}

export function encodeAccept(accept: AcceptMessage): Buffer {
  return json({ encrypt: accept.encrypt, algorithm: accept.algorithm, peerLogin: accept.peerLogin });
}

export function decodeAccept(payload: Buffer): Decoded<AcceptMessage> {
  return decodeObject(payload, "ACCEPT", ["encrypt", "algorithm", "peerLogin"], (field) => ({
    encrypt: field.boolean("encrypt"),
    algorithm: field.nullable("algorithm", () => field.oneOf("algorithm", ALGORITHMS)),
    peerLogin: field.string("peerLogin", 1, LOGIN_NAME_CHARS_MAX),
  }));
}

/** REFUSE carries the refusing side's error as number, symbol and finished message text. */
export function encodeRefuse(error: SqlError): Buffer {
  const message = error.message.slice(0, REFUSE_MESSAGE_CHARS_MAX);
  return json({ number: error.number, symbol: error.symbol, message });
}

export function decodeRefuse(payload: Buffer): Decoded<RefuseMessage> {
  return decodeObject(payload, "REFUSE", ["number", "symbol", "message"], (field) => ({
    number: field.integer("number"),
    symbol: field.string("symbol", 1, 64),
    message: field.string("message", 1, REFUSE_MESSAGE_CHARS_MAX),
  }));
}

/**
 * The refusing side's error as a SqlError of our own catalog, with the same text: found by
 * number and symbol, its arguments read back out of the message through the catalog template.
 * null when the peer sent an error this catalog does not know (or a text that does not fit it).
 */
export function reviveRefusal(refuse: RefuseMessage): SqlError | null {
  for (const name of Object.keys(errorCatalog) as ErrorName[]) {
    const entry = errorCatalog[name];
    if (entry.number !== refuse.number || entry.symbol !== refuse.symbol) continue;
    const args = templateArguments(entry.text, refuse.message);
    if (args === null) continue;
    const revived = new SqlError(name, args);
    if (revived.message === refuse.message) return revived;
  }
  return null;
}

function templateArguments(template: string, message: string): (string | number)[] | null {
  const kinds: string[] = [];
  const pattern = template.split(/(%[sd])/).map((part) => {
    if (part === "%s" || part === "%d") {
      kinds.push(part);
      return part === "%s" ? "([\\s\\S]*?)" : "(-?[0-9]+)";
    }
    return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("");
  const match = new RegExp(`^${pattern}$`).exec(message);
  if (match === null) return null;
  return kinds.map((kind, index) => (kind === "%d" ? Number(match[index + 1]) : match[index + 1]!));
}

function json(value: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(value), "utf8");
}

/** Field readers that throw FieldError; decodeObject turns the first one into a reason. */
class FieldError extends Error {}

class Fields {
  constructor(private readonly object: Record<string, unknown>) {}

  integer(name: string): number {
    const value = this.object[name];
    if (typeof value !== "number" || !Number.isSafeInteger(value)) throw new FieldError(`${name} is not an integer`);
    return value;
  }

  boolean(name: string): boolean {
    const value = this.object[name];
    if (typeof value !== "boolean") throw new FieldError(`${name} is not a boolean`);
    return value;
  }

  string(name: string, charsMin: number, charsMax: number): string {
    const value = this.object[name];
    if (typeof value !== "string" || value.length < charsMin || value.length > charsMax) {
      throw new FieldError(`${name} is not a string of ${charsMin} to ${charsMax} characters`);
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const value = this.object[name];
    if (!allowed.includes(value as T)) throw new FieldError(`${name} is not one of ${allowed.join(", ")}`);
    return value as T;
  }

  nullable<T>(name: string, read: () => T): T | null {
    return this.object[name] === null ? null : read();
  }

  /** A duplicate-free list in preference order, at most one entry per known algorithm. */
  algorithms(name: string): EndpointAlgorithm[] {
    const value = this.object[name];
    if (!Array.isArray(value) || value.length > ALGORITHMS.length
      || new Set(value).size !== value.length || !value.every((item) => ALGORITHMS.includes(item))) {
      throw new FieldError(`${name} is not a list of distinct algorithms (AES, RC4)`);
    }
    return value as EndpointAlgorithm[];
  }

  /** Canonical base64 only, so one byte string has one encoding (it is signed over). */
  bytes(name: string, bytesMin: number, bytesMax: number): Buffer {
    const value = this.object[name];
    const charsMax = Math.ceil(bytesMax / 3) * 4;
    if (typeof value !== "string" || value.length > charsMax) throw new FieldError(`${name} is not base64`);
    const bytes = Buffer.from(value, "base64");
    if (bytes.toString("base64") !== value) throw new FieldError(`${name} is not canonical base64`);
    if (bytes.length < bytesMin || bytes.length > bytesMax) {
      throw new FieldError(`${name} is ${bytes.length} bytes, not ${bytesMin} to ${bytesMax}`);
    }
    return bytes;
  }
}

function decodeObject<T>(payload: Buffer, frame: string, keys: readonly string[],
  read: (fields: Fields) => T): Decoded<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    return { ok: false, reason: `The ${frame} payload is not UTF-8 JSON.` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: `The ${frame} payload is not a JSON object.` };
  }
  const present = Object.keys(parsed);
  if (present.length !== keys.length || !keys.every((key) => Object.hasOwn(parsed, key))) {
    return { ok: false, reason: `The ${frame} payload must have exactly the fields ${keys.join(", ")}.` };
  }
  try {
    return { ok: true, value: read(new Fields(parsed as Record<string, unknown>)) };
  } catch (error) {
    if (error instanceof FieldError) return { ok: false, reason: `In the ${frame} payload, ${error.message}.` };
    throw error;
  }
}
