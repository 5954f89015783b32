// The instance's TLS certificate: PEM files given with --tls-cert/--tls-key, or a self-signed
// RSA-2048 certificate made at first start and kept in the data directory (as SQL Server makes
// one when none is configured), so every client that defaults to encryption can connect.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { writeFileDurably } from "../storage/durable_file.js";
import { buildSelfSignedCertificate, derToPem } from "./x509.js";

const CERT_FILE = "tls-certificate.pem";
const KEY_FILE = "tls-private-key.pem";
const VALIDITY_YEARS = 10;
/** notBefore is back-dated so clients whose clocks lag a little still accept the certificate. */
const BACKDATE_MS = 24 * 60 * 60 * 1000;
const generateKeyPair = promisify(crypto.generateKeyPair);

export interface ServerCredentials {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certificate: crypto.X509Certificate;
  /** Where the certificate came from, for the start-up message. */
  readonly certFile: string;
  readonly generated: boolean;
}

/** A certificate or key that cannot be used; the instance does not start. */
export class TlsCertificateError extends Error {
  override readonly name = "TlsCertificateError";
  constructor(message: string, readonly hint: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** PEM files given by the operator; checked (parses, key matches, not expired) before use. */
export interface ConfiguredCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

/** The operator's pair; throws TlsCertificateError when it cannot be used. */
export function readConfiguredCredentials(files: ConfiguredCertificate, now: Date): ServerCredentials {
  return readPair(files.certFile, files.keyFile, false, now);
}

/**
 * The data directory's self-signed pair: made on first start (and again once expired), then
 * reused, so clients that pinned or trusted it keep working across restarts.
 */
export async function generatedCredentials(dataDir: string, serverName: string,
  now: Date): Promise<ServerCredentials> {
  const certFile = path.join(dataDir, CERT_FILE);
  const keyFile = path.join(dataDir, KEY_FILE);
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    const existing = readPair(certFile, keyFile, true, now);
    if (Date.parse(existing.certificate.validTo) > now.getTime()) return existing;
  }
  await generatePair(certFile, keyFile, serverName, now);
  return readPair(certFile, keyFile, true, now);
}

function readPair(certFile: string, keyFile: string, generated: boolean, now: Date): ServerCredentials {
  const hint = generated ? `delete ${certFile} and ${keyFile} to have a new certificate made`
    : "give a PEM certificate and its PEM private key";
  let certPem: string;
  let keyPem: string;
  let certificate: crypto.X509Certificate;
  let key: crypto.KeyObject;
  try {
    certPem = fs.readFileSync(certFile, "utf8");
    keyPem = fs.readFileSync(keyFile, "utf8");
    certificate = new crypto.X509Certificate(certPem);
    key = crypto.createPrivateKey(keyPem);
  } catch (error) {
    throw new TlsCertificateError(`cannot use TLS certificate ${certFile} / key ${keyFile}: `
      + `${(error as Error).message}`, hint, { cause: error });
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new TlsCertificateError(
      `the private key ${keyFile} does not belong to certificate ${certFile}`, hint);
  }
  if (!generated && Date.parse(certificate.validTo) <= now.getTime()) {
    throw new TlsCertificateError(`TLS certificate ${certFile} expired on ${certificate.validTo}`, hint);
  }
  return { certPem, keyPem, certificate, certFile, generated };
}

async function generatePair(certFile: string, keyFile: string, serverName: string, now: Date): Promise<void> {
  const { publicKey, privateKey } = await generateKeyPair("rsa", { modulusLength: 2048 });
  const notAfter = new Date(now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALIDITY_YEARS);
  const serial = crypto.randomBytes(16);
  serial[0]! &= 0x7f; // positive, at most 16 bytes
  serial[0]! |= 0x01; // and never zero
  const der = buildSelfSignedCertificate({
    subjectCommonName: serverName.slice(0, 64),
    dnsNames: hostNames(serverName),
    ipAddresses: ["127.0.0.1", "::1"],
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    serialNumber: serial,
    publicKey: publicKey.export({ type: "spki", format: "der" }),
    sign: (tbs) => crypto.sign("sha256", tbs, privateKey),
  });
  // The key first, so a certificate on disk always has its key; a crash between the two
  // leaves a key without certificate, and the next start makes a new pair.
  writeFileDurably(path.dirname(keyFile), path.basename(keyFile), privateKey.export({ type: "pkcs8", format: "pem" }) as string, 0o600);
  writeFileDurably(path.dirname(certFile), path.basename(certFile), derToPem(der), 0o644);
}

/** localhost, this machine's host name and the server name, each once, when DNS-shaped. */
function hostNames(serverName: string): string[] {
  const names: string[] = [];
  for (const candidate of ["localhost", os.hostname(), serverName]) {
    const name = candidate.toLowerCase();
    if (/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(name)
      && !names.includes(name)) names.push(name);
  }
  return names;
}

