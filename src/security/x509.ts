// A minimal X.509 v3 certificate builder (RFC 5280), DER-encoded by hand because Node can parse
// and verify certificates (crypto.X509Certificate) but not create them, and the project takes no
// dependency for it. Pure: the caller supplies the key, the serial number, the dates and the
// signing function (sha256WithRSAEncryption), so the same builder serves the TLS server
// certificate and CREATE CERTIFICATE … WITH SUBJECT, START_DATE, EXPIRY_DATE.
import { createHash } from "node:crypto";
import { isIPv4, isIPv6 } from "../util/ip.js";

export interface CertificateRequest {
  /** Subject and issuer CN (the certificate is self-signed). */
  readonly subjectCommonName: string;
  /** subjectAltName dNSName entries; with ipAddresses empty too, no SAN extension is written. */
  readonly dnsNames?: readonly string[];
  /** subjectAltName iPAddress entries, IPv4 or IPv6 text form. */
  readonly ipAddresses?: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Positive, at most 20 bytes (RFC 5280 §4.1.2.2): a bigint or big-endian bytes. */
  readonly serialNumber: bigint | Buffer;
  /** The subject's public key as SubjectPublicKeyInfo DER (KeyObject.export({type: "spki"})). */
  readonly publicKey: Buffer;
  /** Signs the TBSCertificate DER with the matching private key, RSA PKCS#1 v1.5 over SHA-256. */
  readonly sign: (tbs: Buffer) => Buffer;
}

const OID = {
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
  commonName: "2.5.4.3",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

const Tag = {
  BOOLEAN: 0x01, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06,
  UTF8_STRING: 0x0c, UTC_TIME: 0x17, GENERALIZED_TIME: 0x18, SEQUENCE: 0x30, SET: 0x31,
} as const;

/**
 * A self-signed certificate, DER. Extensions: basicConstraints (not a CA), keyUsage
 * digitalSignature + keyEncipherment, subject/authority key identifiers, and, when names are
 * given, subjectAltName plus extKeyUsage serverAuth (a TLS server certificate).
 */
export function buildSelfSignedCertificate(request: CertificateRequest): Buffer {
  check(request.notBefore.getTime() <= request.notAfter.getTime(), "notBefore after notAfter");
  const algorithm = seq(oid(OID.sha256WithRSAEncryption), tlv(Tag.NULL, Buffer.alloc(0)));
  const name = distinguishedName(request.subjectCommonName);
  const tbs = seq(
    explicit(0, integer(2n)), // v3
    integer(serialBytes(request.serialNumber)),
    algorithm,
    name,
    seq(time(request.notBefore), time(request.notAfter)),
    name,
    request.publicKey,
    explicit(3, seq(...extensions(request))),
  );
  return seq(tbs, algorithm, bitString(request.sign(tbs)));
}

function extensions(request: CertificateRequest): Buffer[] {
  const keyId = createHash("sha1").update(subjectPublicKeyBits(request.publicKey)).digest();
  const dnsNames = request.dnsNames ?? [];
  const ipAddresses = request.ipAddresses ?? [];
  const list = [
    extension(OID.basicConstraints, true, seq()),
    // Named bits 0 (digitalSignature) and 2 (keyEncipherment): 3 bits used, 5 unused.
    extension(OID.keyUsage, true, tlv(Tag.BIT_STRING, Buffer.from([5, 0xa0]))),
    extension(OID.subjectKeyIdentifier, false, tlv(Tag.OCTET_STRING, keyId)),
    extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, keyId))),
  ];
  if (dnsNames.length + ipAddresses.length > 0) {
    const general = [
      ...dnsNames.map((dns) => tlv(0x82, ia5(dns))), // [2] IMPLICIT IA5String
      ...ipAddresses.map((ip) => tlv(0x87, ipBytes(ip))), // [7] IMPLICIT OCTET STRING
    ];
    list.push(extension(OID.subjectAltName, false, seq(...general)));
    list.push(extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))));
  }
  return list;
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(Tag.BOOLEAN, Buffer.from([0xff]))] : []),
    tlv(Tag.OCTET_STRING, value));
}

function distinguishedName(commonName: string): Buffer {
  check(commonName.length > 0 && commonName.length <= 64, "common name must be 1..64 characters");
  return seq(tlv(Tag.SET, seq(oid(OID.commonName), tlv(Tag.UTF8_STRING, Buffer.from(commonName, "utf8")))));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, UTC. */
function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  check(Number.isFinite(date.getTime()) && year >= 1950 && year <= 9999, `date ${String(date)} out of range`);
  const rest = [date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(),
    date.getUTCSeconds()].map((part) => String(part).padStart(2, "0")).join("");
  return year < 2050
    ? tlv(Tag.UTC_TIME, Buffer.from(`${String(year % 100).padStart(2, "0")}${rest}Z`, "ascii"))
    : tlv(Tag.GENERALIZED_TIME, Buffer.from(`${year}${rest}Z`, "ascii"));
}

function serialBytes(serial: bigint | Buffer): Buffer {
  let bytes: Buffer;
  if (typeof serial === "bigint") {
    check(serial > 0n, "serial number must be positive");
    const hex = serial.toString(16);
    bytes = Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, "hex");
  } else {
    const first = serial.findIndex((byte) => byte !== 0);
    check(first !== -1, "serial number must be positive");
    bytes = serial.subarray(first);
  }
  check(bytes.length <= 20, "serial number longer than 20 bytes");
  return bytes;
}

/** DER INTEGER of a non-negative value: minimal, with a 0x00 prefix when the top bit is set. */
function integer(value: bigint | Buffer): Buffer {
  const bytes = typeof value === "bigint" ? serialBytes(value) : value;
  return tlv(Tag.INTEGER, (bytes[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split(".").map(Number));
  check(isIPv6(ip), `'${ip}' is not an IP address`);
  const [head = "", tail = ""] = ip.split("::") as [string?, string?];
  const groups = (text: string): string[] => (text === "" ? [] : text.split(":"));
  const left = groups(head);
  const right = ip.includes("::") ? groups(tail) : [];
  check(!right.concat(left).some((g) => g.includes(".")), "IPv4-mapped IPv6 addresses are not supported");
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  const out = Buffer.alloc(16);
  all.forEach((group, index) => out.writeUInt16BE(parseInt(group, 16), index * 2));
  return out;
}

function ia5(text: string): Buffer {
  check(/^[\x20-\x7e]+$/.test(text), `'${text}' is not printable ASCII`);
  return Buffer.from(text, "ascii");
}

function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map((part) => BigInt(part));
  const [first = 0n, second = 0n, ...rest] = parts;
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const chunk = [Number(arc & 0x7fn)];
    for (let value = arc >> 7n; value > 0n; value >>= 7n) chunk.unshift(Number(value & 0x7fn) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(Tag.OID, Buffer.from(bytes));
}

function bitString(bytes: Buffer): Buffer {
  return tlv(Tag.BIT_STRING, Buffer.concat([Buffer.from([0]), bytes]));
}

function explicit(tagNumber: number, content: Buffer): Buffer {
  return tlv(0xa0 | tagNumber, content);
}

function seq(...items: Buffer[]): Buffer {
  return tlv(Tag.SEQUENCE, Buffer.concat(items));
}

function tlv(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) {
    header = Buffer.from([tag, length]);
  } else {
    const lengthBytes: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) lengthBytes.unshift(rest % 256);
    header = Buffer.from([tag, 0x80 | lengthBytes.length, ...lengthBytes]);
  }
  return Buffer.concat([header, content]);
}

/**
 * The subjectPublicKey BIT STRING's bits (without the unused-bits byte) from a
 * SubjectPublicKeyInfo: the input of the RFC 5280 §4.2.1.2 method-1 key identifier.
 */
function subjectPublicKeyBits(spki: Buffer): Buffer {
  const outer = readTlv(spki, 0);
  check(outer.tag === Tag.SEQUENCE && outer.end === spki.length, "publicKey is not SPKI DER");
  const algorithm = readTlv(spki, outer.contentStart);
  const key = readTlv(spki, algorithm.end);
  check(key.tag === Tag.BIT_STRING && key.end === outer.end, "publicKey is not SPKI DER");
  return spki.subarray(key.contentStart + 1, key.end);
}

function readTlv(der: Buffer, at: number): { tag: number; contentStart: number; end: number } {
  check(at + 2 <= der.length, "DER truncated");
  const tag = der[at]!;
  let length = der[at + 1]!;
  let contentStart = at + 2;
  if (length >= 0x80) {
    const count = length & 0x7f;
    check(count >= 1 && count <= 4 && contentStart + count <= der.length, "DER length invalid");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += count;
  }
  check(contentStart + length <= der.length, "DER truncated");
  return { tag, contentStart, end: contentStart + length };
}

/** Invalid input (dates, names, serial, key): a RangeError, so callers can report it to a user. */
function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RangeError(message);
}

/** PEM armour: base64 in 64-character lines between BEGIN/END lines. */
export function derToPem(der: Buffer, label = "CERTIFICATE"): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The first PEM block with this label, as DER; null when there is none. */
export function pemToDer(pem: string, label = "CERTIFICATE"): Buffer | null {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  return match === null ? null : Buffer.from(match[1]!.replace(/\s+/g, ""), "base64");
}
