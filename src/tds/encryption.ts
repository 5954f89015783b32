// Which ENCRYPTION value the server answers in its PRELOGIN reply, and which TLS follows: the
// table of spec/tds.md §1.2 (Microsoft's test server GetEncryptionResponse / ResolveEncryption,
// Babelfish), as data. Pure.
import { Encryption } from "./prelogin.js";

/** What follows the PRELOGIN reply on a TDS 7.x connection. */
export type TlsUse =
  /** No TLS: the client did not ask, or the server has no certificate. */
  | "none"
  /** TLS handshake inside PRELOGIN packets, then every packet inside TLS. */
  | "full"
  /** Handshake, LOGIN7 inside TLS, then TLS dropped (no close_notify) and plaintext after. */
  | "login-only";

/** How the server is configured for this connection. */
export type ServerEncryption =
  | "no-certificate"
  | "certificate"
  /** --force-encryption: every client must encrypt everything. */
  | "forced"
  /** TDS 8.0 strict: the connection already runs inside TLS, the option is ignored. */
  | "inside-tls";

export interface EncryptionDecision {
  /** The ENCRYPTION value of the PRELOGIN reply. */
  readonly reply: number;
  readonly tls: TlsUse;
  readonly why: string;
}

type ClientEncryption = "OFF" | "ON" | "NOT_SUP" | "REQ";

const NO_TLS = (why: string): EncryptionDecision => ({ reply: Encryption.NOT_SUP, tls: "none", why });
const FULL = (reply: number, why: string): EncryptionDecision => ({ reply, tls: "full", why });

/**
 * One row per (server, client) pair, so the table is exhaustive by type. A server without TLS
 * answers NOT_SUP, never OFF: FreeTDS and SqlClient read OFF as "encrypt the login".
 */
const TABLE: Readonly<Record<ServerEncryption, Readonly<Record<ClientEncryption, EncryptionDecision>>>> = {
  "no-certificate": {
    NOT_SUP: NO_TLS("neither side can encrypt"),
    OFF: NO_TLS("no certificate: the login cannot be encrypted"),
    ON: NO_TLS("no certificate: the client will give up"),
    REQ: NO_TLS("no certificate: the client will give up"),
  },
  certificate: {
    NOT_SUP: NO_TLS("the client cannot encrypt and the server does not insist"),
    OFF: { reply: Encryption.OFF, tls: "login-only", why: "the client encrypts the login only" },
    ON: FULL(Encryption.ON, "the client asks for encryption"),
    REQ: FULL(Encryption.ON, "the client requires encryption"),
  },
  forced: {
    NOT_SUP: FULL(Encryption.REQ, "the server requires encryption (the client may give up)"),
    OFF: FULL(Encryption.REQ, "the server requires encryption"),
    ON: FULL(Encryption.ON, "the client asks for encryption"),
    REQ: FULL(Encryption.ON, "the client requires encryption"),
  },
  "inside-tls": {
    NOT_SUP: NO_TLS("TDS 8.0: already inside TLS"),
    OFF: NO_TLS("TDS 8.0: already inside TLS"),
    ON: NO_TLS("TDS 8.0: already inside TLS"),
    REQ: NO_TLS("TDS 8.0: already inside TLS"),
  },
};

/**
 * The decision for a client's ENCRYPTION byte (null: option absent, as from pre-7.1 clients,
 * read as NOT_SUP). The ENCRYPT_CLIENT_CERT bit (0x80) is ignored: no client certificates.
 */
export function negotiateEncryption(client: number | null, server: ServerEncryption): EncryptionDecision {
  return TABLE[server][clientValue(client)];
}

function clientValue(value: number | null): ClientEncryption {
  switch (value === null ? Encryption.NOT_SUP : value & 0x7f) {
    case Encryption.OFF: return "OFF";
    case Encryption.ON: return "ON";
    case Encryption.REQ: return "REQ";
    default: return "NOT_SUP";
  }
}
