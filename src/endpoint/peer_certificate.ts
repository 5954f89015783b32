// The certificate checks of the mirroring handshake (spec/mirroring.md §3.1, §6.4): a peer proves
// its identity with a certificate whose public key must be in this instance's master, the key
// must be RSA, and the current UTC date must lie between its start and expiration dates.
// Pure: the clock reading and the master lookup are passed in.
import { X509Certificate } from "node:crypto";
import { SqlError } from "../errors/sql_error.js";

/** Certificates bigger than this are refused unparsed (RSA-16384 certificates are ~4 KiB). */
export const CERTIFICATE_BYTES_MAX = 16 * 1024;

export interface EndpointCertificate {
  readonly der: Buffer;
  readonly x509: X509Certificate;
  /** The subject's common name (the CREATE CERTIFICATE … WITH SUBJECT text). */
  readonly subjectName: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

/** A peer certificate that passed every check, with its name in this instance's master. */
export interface KnownPeerCertificate {
  readonly certificate: EndpointCertificate;
  readonly certificateName: string;
}

/** Finds the certificate in master with the same public key; null when there is none. */
export type CertificateLookup = (certificateDer: Buffer) => { readonly name: string } | null;

export type PeerCertificateCheck =
  | { readonly ok: true; readonly peer: KnownPeerCertificate }
  | { readonly ok: false; readonly error: SqlError };

/** Parses a DER certificate; a string says why it is not usable at all. */
export function parseEndpointCertificate(der: Buffer): EndpointCertificate | string {
  if (der.length === 0 || der.length > CERTIFICATE_BYTES_MAX) {
    return `the certificate is ${der.length} bytes long`;
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch {
    return "the certificate is not a DER X.509 certificate";
  }
  const notBeforeMs = Date.parse(x509.validFrom);
  const notAfterMs = Date.parse(x509.validTo);
  if (!Number.isFinite(notBeforeMs) || !Number.isFinite(notAfterMs)) {
    return "the certificate's validity dates cannot be read";
  }
  const keyType = x509.publicKey.asymmetricKeyType;
  if (keyType !== "rsa" && keyType !== "rsa-pss") {
    return `the certificate's public key is ${keyType ?? "unknown"}, not RSA`;
  }
  return { der, x509, subjectName: commonName(x509.subject), notBeforeMs, notAfterMs };
}

/** True when nowMs lies within the certificate's validity period (both ends inclusive). */
export function isCurrentlyValid(certificate: EndpointCertificate, nowMs: number): boolean {
  return certificate.notBeforeMs <= nowMs && nowMs <= certificate.notAfterMs;
}

/**
 * The checks an endpoint makes on the other side's certificate, in order: parses and is RSA
 * (28035), is within its dates (28055, naming the subject), and its public key is a certificate
 * in master (28035). `state` tells the two sides apart in the error text.
 */
export function checkPeerCertificate(der: Buffer, nowMs: number, lookup: CertificateLookup,
  state: number): PeerCertificateCheck {
  const parsed = parseEndpointCertificate(der);
  if (typeof parsed === "string") {
    return { ok: false, error: new SqlError("TRANSPORT_BAD_CERTIFICATE", [parsed, state]) };
  }
  if (!isCurrentlyValid(parsed, nowMs)) {
    return { ok: false, error: new SqlError("TRANSPORT_CERTIFICATE_EXPIRED", [parsed.subjectName]) };
  }
  const known = lookup(der);
  if (known === null) {
    const reason = `no certificate in master has the public key of '${parsed.subjectName}'`;
    return { ok: false, error: new SqlError("TRANSPORT_BAD_CERTIFICATE", [reason, state]) };
  }
  return { ok: true, peer: { certificate: parsed, certificateName: known.name } };
}

/**
 * This endpoint's own certificate: unreadable → 28036, outside its dates → 28055. SQL Server
 * refuses to authenticate with an expired endpoint certificate rather than let the peer find out.
 */
export function checkOwnCertificate(der: Buffer, nowMs: number): SqlError | EndpointCertificate {
  const parsed = parseEndpointCertificate(der);
  if (typeof parsed === "string") return new SqlError("TRANSPORT_OWN_CERTIFICATE", [parsed, 1]);
  if (!isCurrentlyValid(parsed, nowMs)) {
    return new SqlError("TRANSPORT_CERTIFICATE_EXPIRED", [parsed.subjectName]);
  }
  return parsed;
}

/** The CN of an X509Certificate.subject ("C=..\nCN=name"); the whole subject when it has none. */
function commonName(subject: string): string {
  const line = subject.split("\n").find((part) => part.startsWith("CN="));
  return line === undefined ? subject : line.slice(3);
}
