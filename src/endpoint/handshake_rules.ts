// The decision tables of the mirroring endpoint handshake. Pure data plus a lookup: the tables
// are the specification, and handshake.ts only carries out the decision of the one row that
// matches. Rows are disjoint (exactly one matches any valid view, asserted on every lookup and
// for every view by the tests), so their order carries no meaning.
import { assert } from "../util/assert.js";
import { FRAME_TYPE_NAMES, type FrameTypeName } from "./frames.js";
import type { EndpointAlgorithm, EndpointEncryption } from "./handshake_messages.js";

export { decide, matches, type Pattern, type Rule } from "../util/rules.js";
import { decide, type Rule } from "../util/rules.js";

// ---- Encryption (spec/mirroring.md §3.1, CREATE ENDPOINT … ENCRYPTION) ----

export interface EncryptionView {
  /** The accepting endpoint's ENCRYPTION setting. */
  readonly accepting: EndpointEncryption;
  /** The connecting endpoint's ENCRYPTION setting, from its HELLO. */
  readonly connecting: EndpointEncryption;
}

export type EncryptionDecision = "encrypt" | "plain" | "refuse";

const CAN_ENCRYPT: readonly EndpointEncryption[] = ["SUPPORTED", "REQUIRED"];

export const encryptionRules: readonly Rule<EncryptionView, EncryptionDecision>[] = [
  { id: "encryption.both_can_encrypt", when: { accepting: CAN_ENCRYPT, connecting: CAN_ENCRYPT },
    decision: "encrypt", why: "SUPPORTED encrypts whenever the other side is SUPPORTED or REQUIRED." },
  { id: "encryption.accepting_disabled", when: { accepting: ["DISABLED"], connecting: ["DISABLED", "SUPPORTED"] },
    decision: "plain", why: "A DISABLED endpoint never encrypts, and the connecting side does not insist." },
  { id: "encryption.connecting_disabled", when: { accepting: ["SUPPORTED"], connecting: ["DISABLED"] },
    decision: "plain", why: "SUPPORTED falls back to no encryption when the other side is DISABLED." },
  { id: "encryption.accepting_requires", when: { accepting: ["REQUIRED"], connecting: ["DISABLED"] },
    decision: "refuse", why: "A REQUIRED endpoint cannot talk to a DISABLED one (28027)." },
  { id: "encryption.connecting_requires", when: { accepting: ["DISABLED"], connecting: ["REQUIRED"] },
    decision: "refuse", why: "A DISABLED endpoint cannot talk to a REQUIRED one (28027)." },
];

export function decideEncryption(view: EncryptionView): Rule<EncryptionView, EncryptionDecision> {
  return decide("encryption", encryptionRules, view);
}

/**
 * ALGORITHM negotiation: the first algorithm of the accepting endpoint's list that the connecting
 * endpoint also lists ("if both sides list both algorithms in different orders, the accepting
 * endpoint wins"); null when they share none (28027).
 */
export function chooseAlgorithm(accepting: readonly EndpointAlgorithm[],
  connecting: readonly EndpointAlgorithm[]): EndpointAlgorithm | null {
  return accepting.find((algorithm) => connecting.includes(algorithm)) ?? null;
}

// ---- Handshake steps ----

export type HandshakeRole = "initiator" | "acceptor";
/**
 * Where a handshake waits. Acceptor: awaiting_hello → awaiting_auth. Initiator (after sending
 * HELLO): hello_sent → auth_sent. Success or failure ends the handshake; there is no phase for it.
 */
export type HandshakePhase = "awaiting_hello" | "awaiting_auth" | "hello_sent" | "auth_sent";
export type HandshakeInputKind = FrameTypeName | "timeout" | "peer_closed" | "protocol_error";
/** The outcome of the checks run on the one frame each phase expects; "passed" for any other input. */
export type Verdict = "passed" | "failed";

export interface HandshakeView {
  readonly role: HandshakeRole;
  readonly phase: HandshakePhase;
  readonly input: HandshakeInputKind;
  readonly verdict: Verdict;
}

export type HandshakeDecision =
  | "send_hello_reply" // acceptor: HELLO checked; prove identity and continue
  | "send_accept" // acceptor: AUTH verified and authorized; the channel is open
  | "send_refuse" // acceptor: a check failed; tell the peer which error, then close
  | "drop" // acceptor: not a mirroring partner (garbage, timeout, wrong frame); close silently
  | "send_auth" // initiator: HELLO_REPLY checked; prove identity
  | "establish" // initiator: ACCEPT received; the channel is open
  | "abandon" // initiator: a check failed or the peer misbehaved; close with our own error
  | "relay_refusal"; // initiator: the acceptor refused; fail with the acceptor's error

export type HandshakeRule = Rule<HandshakeView, HandshakeDecision>;

export const PHASES_BY_ROLE: { readonly [R in HandshakeRole]: readonly HandshakePhase[] } = {
  acceptor: ["awaiting_hello", "awaiting_auth"],
  initiator: ["hello_sent", "auth_sent"],
};

export const HANDSHAKE_INPUTS: readonly HandshakeInputKind[] =
  [...FRAME_TYPE_NAMES, "timeout", "peer_closed", "protocol_error"];

/** The frame each phase waits for; the only input that is checked (and so can fail a check). */
export const EXPECTED_FRAME: { readonly [P in HandshakePhase]: FrameTypeName } = {
  awaiting_hello: "HELLO", awaiting_auth: "AUTH", hello_sent: "HELLO_REPLY", auth_sent: "ACCEPT",
};

const ENDED: readonly HandshakeInputKind[] = ["CLOSE", "peer_closed"];
const CHANNEL_FRAMES: readonly HandshakeInputKind[] = ["PING", "PONG", "DATA"];
const ACCEPTOR = ["acceptor"] as const;
const INITIATOR = ["initiator"] as const;
const PASSED = ["passed"] as const;
const FAILED = ["failed"] as const;

export const handshakeRules: readonly HandshakeRule[] = [
  // Accepting endpoint.
  { id: "acceptor.hello.checked",
    when: { role: ACCEPTOR, phase: ["awaiting_hello"], input: ["HELLO"], verdict: PASSED },
    decision: "send_hello_reply",
    why: "Compatible settings and a known, current certificate: sign the transcript to prove our identity." },
  { id: "acceptor.hello.refused",
    when: { role: ACCEPTOR, phase: ["awaiting_hello"], input: ["HELLO"], verdict: FAILED },
    decision: "send_refuse", why: "The peer speaks the protocol but cannot be let in; the REFUSE tells it why." },
  { id: "acceptor.auth.accepted",
    when: { role: ACCEPTOR, phase: ["awaiting_auth"], input: ["AUTH"], verdict: PASSED },
    decision: "send_accept", why: "The peer proved it holds its certificate's private key and its login has CONNECT." },
  { id: "acceptor.auth.refused",
    when: { role: ACCEPTOR, phase: ["awaiting_auth"], input: ["AUTH"], verdict: FAILED },
    decision: "send_refuse", why: "The signature does not verify or the login may not connect (28034)." },
  { id: "acceptor.hello.out_of_order",
    when: { role: ACCEPTOR, phase: ["awaiting_hello"],
      input: ["HELLO_REPLY", "AUTH", "ACCEPT", "REFUSE", ...CHANNEL_FRAMES] },
    decision: "drop", why: "Only HELLO opens a mirroring connection; anything else is not a partner." },
  { id: "acceptor.auth.out_of_order",
    when: { role: ACCEPTOR, phase: ["awaiting_auth"],
      input: ["HELLO", "HELLO_REPLY", "ACCEPT", "REFUSE", ...CHANNEL_FRAMES] },
    decision: "drop", why: "Nothing but AUTH may follow our HELLO_REPLY; the peer is confused or hostile." },
  { id: "acceptor.peer_left", when: { role: ACCEPTOR, input: ENDED },
    decision: "drop", why: "The peer gave up before the handshake finished." },
  { id: "acceptor.timeout", when: { role: ACCEPTOR, input: ["timeout"] },
    decision: "drop", why: "A silent or half-finished handshake must not hold a connection slot." },
  { id: "acceptor.garbage", when: { role: ACCEPTOR, input: ["protocol_error"] },
    decision: "drop", why: "The bytes are not mirroring frames (a TLS or TDS client, a port scan)." },
  // Connecting endpoint.
  { id: "initiator.hello_reply.checked",
    when: { role: INITIATOR, phase: ["hello_sent"], input: ["HELLO_REPLY"], verdict: PASSED },
    decision: "send_auth",
    why: "The partner holds a known, current certificate and signed our nonce: prove our identity in turn." },
  { id: "initiator.hello_reply.rejected",
    when: { role: INITIATOR, phase: ["hello_sent"], input: ["HELLO_REPLY"], verdict: FAILED },
    decision: "abandon",
    why: "The partner is not who it must be (unknown or expired certificate, bad signature) "
      + "or chose settings we did not offer." },
  { id: "initiator.accept.confirmed",
    when: { role: INITIATOR, phase: ["auth_sent"], input: ["ACCEPT"], verdict: PASSED },
    decision: "establish", why: "The partner authorized us with the settings it announced." },
  { id: "initiator.accept.inconsistent",
    when: { role: INITIATOR, phase: ["auth_sent"], input: ["ACCEPT"], verdict: FAILED },
    decision: "abandon", why: "ACCEPT must repeat the encryption settings of HELLO_REPLY." },
  { id: "initiator.refused", when: { role: INITIATOR, input: ["REFUSE"] },
    decision: "relay_refusal", why: "The partner said why it will not let us in; that error is the cause of 1418." },
  { id: "initiator.hello_sent.out_of_order",
    when: { role: INITIATOR, phase: ["hello_sent"], input: ["HELLO", "AUTH", "ACCEPT", ...CHANNEL_FRAMES] },
    decision: "abandon", why: "A partner answers HELLO with HELLO_REPLY or REFUSE only." },
  { id: "initiator.auth_sent.out_of_order",
    when: { role: INITIATOR, phase: ["auth_sent"], input: ["HELLO", "HELLO_REPLY", "AUTH", ...CHANNEL_FRAMES] },
    decision: "abandon", why: "A partner answers AUTH with ACCEPT or REFUSE only." },
  { id: "initiator.peer_left", when: { role: INITIATOR, input: ENDED },
    decision: "abandon", why: "The partner closed the connection without a REFUSE." },
  { id: "initiator.timeout", when: { role: INITIATOR, input: ["timeout"] },
    decision: "abandon", why: "The partner did not finish the handshake in time." },
  { id: "initiator.garbage", when: { role: INITIATOR, input: ["protocol_error"] },
    decision: "abandon", why: "Whatever listens at that address is not a mirroring endpoint." },
];

export function decideHandshake(view: HandshakeView): HandshakeRule {
  // Negative space: views the driver must never build.
  assert(PHASES_BY_ROLE[view.role].includes(view.phase), `phase ${view.phase} is not a ${view.role} phase`);
  if (view.verdict === "failed") {
    assert(view.input === EXPECTED_FRAME[view.phase], "only the expected frame is checked");
  }
  return decide("handshake", handshakeRules, view);
}
