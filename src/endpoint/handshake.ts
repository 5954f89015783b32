// The mirroring endpoint handshake for both roles (spec/mirroring.md §3.1, §6.4), as a pure step
// function: step(state, input, context) → { state, frame to send, outcome }. No sockets, timers,
// clock or randomness: the runtime passes the time (nowMs), the nonces, and the sign / verify /
// lookup / authorize capabilities in.
//
//   initiator                                        acceptor
//   HELLO {version, encryption, algorithms, certificate, nonce}  →
//        ← HELLO_REPLY {version, certificate, nonce, encrypt, algorithm,
//                       signature over H(len|HELLO | nonce_acceptor | "acceptor")}   or REFUSE
//   AUTH {signature over H(len|HELLO | len|HELLO_REPLY | "initiator")}  →
//        ← ACCEPT {encrypt, algorithm, peerLogin}                                    or REFUSE
//
// H is SHA-256; "len|" is a u32 big-endian length prefix, so two transcripts can never be cut
// into the same bytes. The acceptor's signature covers the initiator's fresh nonce (no replay);
// the initiator's covers the whole HELLO_REPLY as received, so a changed encrypt/algorithm field
// makes the acceptor refuse the AUTH (no downgrade). Which decision is taken is in
// handshake_rules.ts; this file runs the checks and carries decisions out.
import { createHash } from "node:crypto";
import { SqlError } from "../errors/sql_error.js";
import { assert } from "../util/assert.js";
import { encodeFrame, type Frame } from "./frames.js";
import {
  decodeAccept, decodeAuth, decodeHello, decodeHelloReply, decodeRefuse, encodeAccept, encodeAuth,
  encodeHello, encodeHelloReply, encodeRefuse, LOGIN_NAME_CHARS_MAX, NONCE_BYTES, PROTOCOL_VERSION,
  reviveRefusal, type EndpointAlgorithm, type EndpointEncryption, type HelloReplyMessage,
} from "./handshake_messages.js";
import {
  chooseAlgorithm, decideEncryption, decideHandshake, EXPECTED_FRAME, type HandshakeInputKind,
  type HandshakeRule,
} from "./handshake_rules.js";
import {
  checkOwnCertificate, checkPeerCertificate, type CertificateLookup, type KnownPeerCertificate,
} from "./peer_certificate.js";

/** What this endpoint offers: its CREATE ENDPOINT settings and its certificate. */
export interface EndpointOffer {
  readonly encryption: EndpointEncryption;
  /** ALGORITHM in preference order; ignored when encryption is DISABLED. */
  readonly algorithms: readonly EndpointAlgorithm[];
  readonly certificateDer: Buffer;
}

/** The certificate owner's login, or the error refusing it (28034 for a missing CONNECT). */
export type Authorization = { readonly loginName: string } | SqlError;

export interface PeerIdentity {
  readonly certificateName: string;
  readonly certificateDer: Buffer;
}

/** Everything the handshake may ask of its caller; each call must be free of side effects. */
export interface HandshakeContext {
  readonly nowMs: number;
  /** RSA-SHA256 signature with this endpoint's private key. */
  readonly sign: (data: Buffer) => Buffer;
  /** Verifies an RSA-SHA256 signature with the public key of the given certificate. */
  readonly verify: (certificateDer: Buffer, data: Buffer, signature: Buffer) => boolean;
  readonly lookupCertificate: CertificateLookup;
  /** Acceptor only: certificate owner → user → login, which needs CONNECT on the endpoint. */
  readonly authorize: (peer: PeerIdentity) => Authorization;
}

export type HandshakeState =
  | { readonly role: "initiator"; readonly phase: "hello_sent"; readonly offer: EndpointOffer;
      readonly helloPayload: Buffer }
  | { readonly role: "initiator"; readonly phase: "auth_sent"; readonly helloPayload: Buffer;
      readonly reply: HelloReplyMessage; readonly peer: KnownPeerCertificate }
  | { readonly role: "acceptor"; readonly phase: "awaiting_hello"; readonly offer: EndpointOffer;
      readonly nonce: Buffer }
  | { readonly role: "acceptor"; readonly phase: "awaiting_auth"; readonly helloPayload: Buffer;
      readonly replyPayload: Buffer; readonly peer: KnownPeerCertificate;
      readonly encrypt: boolean; readonly algorithm: EndpointAlgorithm | null };

export type HandshakeInput =
  | { readonly kind: "frame"; readonly frame: Frame }
  | { readonly kind: "timeout"; readonly afterMs: number }
  | { readonly kind: "peer_closed" }
  | { readonly kind: "protocol_error"; readonly reason: string };

/** The agreed channel, identical in meaning on both ends. */
export interface EstablishedHandshake {
  readonly encrypt: boolean;
  readonly algorithm: EndpointAlgorithm | null;
  /** The login the accepting endpoint mapped the connecting certificate to. */
  readonly peerLogin: string;
  /** The other endpoint's certificate, as named in this instance's master. */
  readonly peer: KnownPeerCertificate;
}

export type HandshakeOutcome =
  | { readonly kind: "established"; readonly channel: EstablishedHandshake }
  | { readonly kind: "failed"; readonly error: SqlError; readonly refusedBy: "peer" | "local" };

export interface HandshakeStep {
  readonly rule: HandshakeRule;
  /** The next state; null once the handshake is over (then outcome is set). */
  readonly state: HandshakeState | null;
  /** An encoded frame to write now (HELLO_REPLY, AUTH, ACCEPT or REFUSE). */
  readonly send: Buffer | null;
  readonly outcome: HandshakeOutcome | null;
}

/** 28045 states: which kind of protocol violation ended the handshake. */
export const HandshakeFailure = {
  PROTOCOL: 1, UNEXPECTED_FRAME: 2, TIMEOUT: 3, CLOSED: 4, MALFORMED: 5, TLS: 6,
  UNREADABLE_REFUSAL: 7, INCONSISTENT_ACCEPT: 8,
} as const;

/** A 28045 "Connection handshake failed. <reason> State n." */
export function handshakeFailed(reason: string, state: number): SqlError {
  return new SqlError("TRANSPORT_HANDSHAKE_FAILED", [reason, state]);
}

/** The connecting side: checks its own certificate, then the HELLO to send. */
export function startInitiator(offer: EndpointOffer, nonce: Buffer, nowMs: number):
  { readonly state: HandshakeState; readonly send: Buffer } | { readonly error: SqlError } {
  assert(nonce.length === NONCE_BYTES, "nonce must be 32 bytes");
  const own = checkOwnCertificate(offer.certificateDer, nowMs);
  if (own instanceof SqlError) return { error: own };
  const helloPayload = encodeHello({ protocolVersion: PROTOCOL_VERSION, encryption: offer.encryption,
    algorithms: offer.algorithms, certificateDer: offer.certificateDer, nonce });
  return { state: { role: "initiator", phase: "hello_sent", offer, helloPayload },
    send: encodeFrame("HELLO", helloPayload) };
}

/** The accepting side, for one accepted connection; it speaks only after the peer's HELLO. */
export function startAcceptor(offer: EndpointOffer, nonce: Buffer): HandshakeState {
  assert(nonce.length === NONCE_BYTES, "nonce must be 32 bytes");
  return { role: "acceptor", phase: "awaiting_hello", offer, nonce };
}

export function stepHandshake(state: HandshakeState, input: HandshakeInput,
  context: HandshakeContext): HandshakeStep {
  const checked = check(state, input, context);
  const rule = decideHandshake({ role: state.role, phase: state.phase, input: inputKind(input),
    verdict: checked === null || checked.ok ? "passed" : "failed" });
  const end = (error: SqlError, refusedBy: "peer" | "local", send: Buffer | null = null): HandshakeStep =>
    ({ rule, state: null, send, outcome: { kind: "failed", error, refusedBy } });
  switch (rule.decision) {
    case "send_refuse": {
      assert(checked !== null && !checked.ok, "refusal without a failed check");
      return end(checked.error, "local", encodeFrame("REFUSE", encodeRefuse(checked.error)));
    }
    case "drop":
    case "abandon":
      return end(checked !== null && !checked.ok ? checked.error : violation(state, input), "local");
    case "relay_refusal":
      assert(input.kind === "frame", "a refusal is a frame");
      return end(refusal(input.frame.payload), "peer");
    default:
      assert(checked !== null && checked.ok, `${rule.id} without a passed check`);
      return { rule, ...checked.next };
  }
}

// ---- Checks: the verdict on the one frame each phase waits for ----

type Next = Omit<HandshakeStep, "rule">;
type Checked = { readonly ok: true; readonly next: Next } | { readonly ok: false; readonly error: SqlError };

function check(state: HandshakeState, input: HandshakeInput, context: HandshakeContext): Checked | null {
  if (input.kind !== "frame" || input.frame.type !== EXPECTED_FRAME[state.phase]) return null;
  const payload = input.frame.payload;
  switch (state.phase) {
    case "awaiting_hello": return checkHello(state, payload, context);
    case "awaiting_auth": return checkAuth(state, payload, context);
    case "hello_sent": return checkHelloReply(state, payload, context);
    case "auth_sent": return checkAccept(state, payload);
  }
}

type StateOf<P extends HandshakeState["phase"]> = Extract<HandshakeState, { phase: P }>;

/** Acceptor: own certificate, protocol version, encryption, algorithm, then the peer certificate. */
function checkHello(state: StateOf<"awaiting_hello">, helloPayload: Buffer, context: HandshakeContext): Checked {
  const own = checkOwnCertificate(state.offer.certificateDer, context.nowMs);
  if (own instanceof SqlError) return { ok: false, error: own };
  const hello = decodeHello(helloPayload);
  if (!hello.ok) return { ok: false, error: handshakeFailed(hello.reason, HandshakeFailure.MALFORMED) };
  const { value } = hello;
  if (value.protocolVersion !== PROTOCOL_VERSION) return noCompatible("mirroring protocol version", 1);
  const encryption = decideEncryption({ accepting: state.offer.encryption, connecting: value.encryption });
  if (encryption.decision === "refuse") return noCompatible("encryption algorithm", 2);
  const encrypt = encryption.decision === "encrypt";
  const algorithm = encrypt ? chooseAlgorithm(state.offer.algorithms, value.algorithms) : null;
  if (encrypt && algorithm === null) return noCompatible("encryption algorithm", 3);
  const peer = checkPeerCertificate(value.certificateDer, context.nowMs, context.lookupCertificate, 1);
  if (!peer.ok) return { ok: false, error: peer.error };

  const signature = context.sign(acceptorTranscript(helloPayload, state.nonce));
  const replyPayload = encodeHelloReply({ protocolVersion: PROTOCOL_VERSION, certificateDer: state.offer.certificateDer,
    nonce: state.nonce, encrypt, algorithm, signature });
  return { ok: true, next: {
    state: { role: "acceptor", phase: "awaiting_auth", helloPayload, replyPayload, peer: peer.peer,
      encrypt, algorithm },
    send: encodeFrame("HELLO_REPLY", replyPayload), outcome: null,
  } };
}

/** Acceptor: the initiator's signature proves it holds the key; then its login needs CONNECT. */
function checkAuth(state: StateOf<"awaiting_auth">, payload: Buffer, context: HandshakeContext): Checked {
  const auth = decodeAuth(payload);
  if (!auth.ok) return { ok: false, error: handshakeFailed(auth.reason, HandshakeFailure.MALFORMED) };
  const signed = initiatorTranscript(state.helloPayload, state.replyPayload);
  if (!context.verify(state.peer.certificate.der, signed, auth.value.signature)) {
    return badSignature(state.peer, 1);
  }
  const authorization = context.authorize({ certificateName: state.peer.certificateName,
    certificateDer: state.peer.certificate.der });
  if (authorization instanceof SqlError) return { ok: false, error: authorization };
  const loginName = authorization.loginName;
  assert(loginName.length > 0 && loginName.length <= LOGIN_NAME_CHARS_MAX, "authorize returned an invalid login name");
  const channel = { encrypt: state.encrypt, algorithm: state.algorithm, peerLogin: loginName, peer: state.peer };
  return { ok: true, next: {
    state: null, send: encodeFrame("ACCEPT", encodeAccept(channel)), outcome: { kind: "established", channel },
  } };
}

/** Initiator: the acceptor's choice must be one we offered; its certificate known; its signature good. */
function checkHelloReply(state: StateOf<"hello_sent">, replyPayload: Buffer, context: HandshakeContext): Checked {
  const decoded = decodeHelloReply(replyPayload);
  if (!decoded.ok) return { ok: false, error: handshakeFailed(decoded.reason, HandshakeFailure.MALFORMED) };
  const reply = decoded.value;
  if (reply.protocolVersion !== PROTOCOL_VERSION) return noCompatible("mirroring protocol version", 1);
  if (!offered(state.offer, reply.encrypt, reply.algorithm)) return noCompatible("encryption algorithm", 4);
  const peer = checkPeerCertificate(reply.certificateDer, context.nowMs, context.lookupCertificate, 2);
  if (!peer.ok) return { ok: false, error: peer.error };
  if (!context.verify(reply.certificateDer, acceptorTranscript(state.helloPayload, reply.nonce), reply.signature)) {
    return badSignature(peer.peer, 2);
  }
  const signature = context.sign(initiatorTranscript(state.helloPayload, replyPayload));
  return { ok: true, next: {
    state: { role: "initiator", phase: "auth_sent", helloPayload: state.helloPayload, reply, peer: peer.peer },
    send: encodeFrame("AUTH", encodeAuth({ signature })), outcome: null,
  } };
}

/** Initiator: ACCEPT repeats the settings HELLO_REPLY announced (and our AUTH signed). */
function checkAccept(state: StateOf<"auth_sent">, payload: Buffer): Checked {
  const accept = decodeAccept(payload);
  if (!accept.ok) return { ok: false, error: handshakeFailed(accept.reason, HandshakeFailure.MALFORMED) };
  const { encrypt, algorithm, peerLogin } = accept.value;
  if (encrypt !== state.reply.encrypt || algorithm !== state.reply.algorithm) {
    return { ok: false, error: handshakeFailed("ACCEPT disagrees with HELLO_REPLY about encryption.",
      HandshakeFailure.INCONSISTENT_ACCEPT) };
  }
  return { ok: true, next: {
    state: null, send: null,
    outcome: { kind: "established", channel: { encrypt, algorithm, peerLogin, peer: state.peer } },
  } };
}

/** Whether the acceptor's choice is one our HELLO allowed. */
function offered(offer: EndpointOffer, encrypt: boolean, algorithm: EndpointAlgorithm | null): boolean {
  if (!encrypt) return algorithm === null && offer.encryption !== "REQUIRED";
  return offer.encryption !== "DISABLED" && algorithm !== null && offer.algorithms.includes(algorithm);
}

function noCompatible(what: string, state: number): Checked {
  return { ok: false, error: new SqlError("TRANSPORT_NO_ALGORITHM", [what, state]) };
}

function badSignature(peer: KnownPeerCertificate, state: number): Checked {
  const reason = `the peer's signature does not verify with the public key of certificate '${peer.certificateName}'`;
  return { ok: false, error: new SqlError("TRANSPORT_BAD_CERTIFICATE", [reason, 2 + state]) };
}

// ---- Failures that are not checks ----

function violation(state: HandshakeState, input: HandshakeInput): SqlError {
  const expected = EXPECTED_FRAME[state.phase];
  switch (input.kind) {
    case "timeout":
      return handshakeFailed(`The handshake did not complete within ${input.afterMs} ms (waiting for ${expected}).`,
        HandshakeFailure.TIMEOUT);
    case "peer_closed":
      return handshakeFailed(`The peer closed the connection while this endpoint waited for ${expected}.`,
        HandshakeFailure.CLOSED);
    case "protocol_error":
      return handshakeFailed(`The peer does not speak the mirroring protocol: ${input.reason}`,
        HandshakeFailure.PROTOCOL);
    case "frame":
      if (input.frame.type === "CLOSE") {
        return handshakeFailed(`The peer closed the connection while this endpoint waited for ${expected}.`,
          HandshakeFailure.CLOSED);
      }
      return handshakeFailed(`Unexpected ${input.frame.type} frame while waiting for ${expected}.`,
        HandshakeFailure.UNEXPECTED_FRAME);
  }
}

/** The acceptor's error from a REFUSE, rebuilt from our catalog so it carries the same number. */
function refusal(payload: Buffer): SqlError {
  const decoded = decodeRefuse(payload);
  if (!decoded.ok) return handshakeFailed(decoded.reason, HandshakeFailure.UNREADABLE_REFUSAL);
  const revived = reviveRefusal(decoded.value);
  if (revived !== null) return revived;
  const { number, message } = decoded.value;
  return handshakeFailed(`The peer refused the connection with error ${number}: ${message}`,
    HandshakeFailure.UNREADABLE_REFUSAL);
}

function inputKind(input: HandshakeInput): HandshakeInputKind {
  return input.kind === "frame" ? input.frame.type : input.kind;
}

// ---- Transcripts ----

/** What the acceptor signs: the initiator's HELLO (with its fresh nonce) and its own nonce. */
export function acceptorTranscript(helloPayload: Buffer, acceptorNonce: Buffer): Buffer {
  return createHash("sha256").update(lengthPrefixed(helloPayload)).update(acceptorNonce)
    .update("acceptor", "ascii").digest();
}

/** What the initiator signs: both HELLO payloads exactly as they travelled. */
export function initiatorTranscript(helloPayload: Buffer, replyPayload: Buffer): Buffer {
  return createHash("sha256").update(lengthPrefixed(helloPayload)).update(lengthPrefixed(replyPayload))
    .update("initiator", "ascii").digest();
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}
