// What an instance brings to its DATABASE_MIRRORING endpoint: its certificate and private key
// (CREATE ENDPOINT … AUTHENTICATION = CERTIFICATE cert), its ENCRYPTION / ALGORITHM settings,
// and the policy that answers "is this peer's certificate in my master, and may its login
// CONNECT?". Also the crypto capabilities the pure handshake is given.
import { sign, verify, X509Certificate, type KeyObject } from "node:crypto";
import { SqlError } from "../errors/sql_error.js";
import { derToPem } from "../security/x509.js";
import type { MirroringChannel } from "./channel.js";
import type { EndpointOffer, HandshakeContext, PeerIdentity } from "./handshake.js";
import type { EndpointAlgorithm, EndpointEncryption } from "./handshake_messages.js";
import { parseEndpointCertificate } from "./peer_certificate.js";

export interface EndpointIdentity {
  /** The endpoint certificate (AUTHENTICATION = CERTIFICATE …), DER. */
  readonly certificateDer: Buffer;
  /** Its private key (in SQL Server: encrypted by the database master key). */
  readonly privateKey: KeyObject;
  readonly encryption: EndpointEncryption;
  /** ALGORITHM in preference order: ["AES"], ["RC4"], ["AES", "RC4"] or ["RC4", "AES"]. */
  readonly algorithms: readonly EndpointAlgorithm[];
}

export interface EndpointPolicy {
  /** The certificate in master with this public key (its name), or null: 28035. */
  lookupCertificate(certificateDer: Buffer): { name: string } | null;
  /** Certificate owner → user → login; the login needs CONNECT on the endpoint, else 28034. */
  authorize(peer: PeerIdentity): { loginName: string } | SqlError;
  /** A refused or dropped incoming connection (the accepting side's error log line). */
  onRefused(error: SqlError, remote: string): void;
  /** A connection that completed the handshake; the receiver owns the channel from now on. */
  onConnection(channel: MirroringChannel): void;
}

/** TLS 1.3 only, AES-GCM only: what ENCRYPTION = REQUIRED ALGORITHM AES means today. */
export const TLS_CIPHERS = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256";

/**
 * The identity's own problems that no clock reading changes: the certificate does not parse or
 * the private key is not its key (28036, "the certificate used by this endpoint was not found").
 * Dates are checked at each handshake (28055), since a certificate expires while in use.
 */
export function identityProblem(identity: EndpointIdentity): SqlError | null {
  const parsed = parseEndpointCertificate(identity.certificateDer);
  if (typeof parsed === "string") return new SqlError("TRANSPORT_OWN_CERTIFICATE", [parsed, 1]);
  if (!parsed.x509.checkPrivateKey(identity.privateKey)) {
    return new SqlError("TRANSPORT_OWN_CERTIFICATE",
      [`the private key does not belong to certificate '${parsed.subjectName}'`, 2]);
  }
  if (identity.encryption !== "DISABLED" && identity.algorithms.length === 0) {
    return new SqlError("TRANSPORT_NO_ALGORITHM", ["encryption algorithm in this endpoint's settings", 5]);
  }
  return null;
}

export function offerOf(identity: EndpointIdentity): EndpointOffer {
  return { encryption: identity.encryption, algorithms: identity.algorithms, certificateDer: identity.certificateDer };
}

/** The handshake's capabilities at this moment; nowMs is read by the caller. */
export function handshakeContext(identity: EndpointIdentity, policy: Pick<EndpointPolicy, "lookupCertificate">
  & Partial<Pick<EndpointPolicy, "authorize">>, nowMs: number): HandshakeContext {
  return {
    nowMs,
    sign: (data) => sign("sha256", data, identity.privateKey), // RSA PKCS#1 v1.5 over SHA-256
    verify: verifyWithCertificate,
    lookupCertificate: (der) => policy.lookupCertificate(der),
    authorize: (peer) => {
      // The connecting side never authorizes: the rules table only asks an acceptor.
      if (policy.authorize === undefined) throw new Error("authorize is only available to an accepting endpoint");
      return policy.authorize(peer);
    },
  };
}

function verifyWithCertificate(certificateDer: Buffer, data: Buffer, signature: Buffer): boolean {
  try {
    return verify("sha256", data, new X509Certificate(certificateDer).publicKey, signature);
  } catch {
    return false; // a key that cannot verify at all is a signature that does not verify
  }
}

/** PEM certificate and key for node:tls, which takes no KeyObject. */
export function tlsCredentials(identity: EndpointIdentity): { cert: string; key: string } {
  return {
    cert: derToPem(identity.certificateDer),
    key: identity.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}
