// Runs the pure handshake (handshake.ts) over a socket, for either role, and turns the agreed
// channel into TLS when the endpoints chose to encrypt. Runtime: owns the timers and reads the
// clock; every decision stays in the pure step function.
import type { Socket } from "node:net";
import * as tls from "node:tls";
import type { SqlError } from "../errors/sql_error.js";
import { FrameDecoder, HANDSHAKE_PAYLOAD_MAX, type Frame } from "./frames.js";
import type { ChannelInfo } from "./channel.js";
import {
  handshakeFailed, HandshakeFailure, stepHandshake, type EstablishedHandshake, type HandshakeContext,
  type HandshakeInput, type HandshakeOutcome, type HandshakeState, type HandshakeStep,
} from "./handshake.js";
import type { HandshakePhase } from "./handshake_rules.js";
import { TLS_CIPHERS, tlsCredentials, type EndpointIdentity } from "./endpoint_identity.js";

export interface DrivenHandshake {
  readonly outcome: HandshakeOutcome;
  /** The handshake's decoder, holding any bytes after the frame that ended the handshake. */
  readonly decoder: FrameDecoder;
  /** Whole frames decoded after that frame (possible only on a plaintext channel). */
  readonly pending: readonly Frame[];
}

export type StepObserver = (step: HandshakeStep, phase: HandshakePhase) => void;

/**
 * Feeds frames, end of stream and the timeout into the step function until it reports an
 * outcome, writing each frame it asks for. Never rejects: every failure is an outcome. The
 * socket is paused on return, so no byte is lost before the next owner reads.
 */
export function driveHandshake(socket: Socket, start: { state: HandshakeState; send: Buffer | null },
  contextNow: () => HandshakeContext, timeoutMs: number, observe: StepObserver = () => {}): Promise<DrivenHandshake> {
  return new Promise((resolve) => {
    let state: HandshakeState | null = start.state;
    const decoder = new FrameDecoder(HANDSHAKE_PAYLOAD_MAX);
    const feed = (input: HandshakeInput, rest: readonly Frame[] = []): void => {
      if (state === null) return;
      const phase = state.phase;
      const step = stepHandshake(state, input, contextNow());
      observe(step, phase);
      if (step.send !== null) socket.write(step.send);
      state = step.state;
      if (step.outcome === null) return;
      clearTimeout(timer);
      socket.pause();
      socket.off("data", onData).off("end", onEnd).off("close", onEnd);
      resolve({ outcome: step.outcome, decoder, pending: rest });
    };
    const onData = (chunk: Buffer): void => {
      const pushed = decoder.push(chunk);
      if (!pushed.ok) return feed({ kind: "protocol_error", reason: pushed.error.reason });
      pushed.frames.forEach((frame, index) => feed({ kind: "frame", frame }, pushed.frames.slice(index + 1)));
    };
    const onEnd = (): void => feed({ kind: "peer_closed" });
    const timer = setTimeout(() => feed({ kind: "timeout", afterMs: timeoutMs }), timeoutMs);
    socket.on("data", onData).on("end", onEnd).on("close", onEnd);
    if (start.send !== null) socket.write(start.send);
  });
}

/**
 * Turns the authenticated TCP connection into TLS 1.3 (AES-GCM) on the same socket. Each side
 * presents its endpoint certificate and requires the other side's to be exactly the certificate
 * the handshake authenticated, so TLS cannot be completed by anyone but the authenticated peer.
 * Rejects with 28045 (state TLS) on failure, mismatch or timeout.
 */
export function upgradeToTls(socket: Socket, role: "initiator" | "acceptor", identity: EndpointIdentity,
  peerCertificateDer: Buffer, timeoutMs: number): Promise<tls.TLSSocket> {
  const options = { ...tlsCredentials(identity), minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ciphers: TLS_CIPHERS,
    rejectUnauthorized: false } as const;
  const secure = role === "acceptor"
    ? new tls.TLSSocket(socket, { ...options, isServer: true, requestCert: true })
    : tls.connect({ ...options, socket, checkServerIdentity: () => undefined });
  return new Promise((resolve, reject) => {
    const fail = (reason: string): void => {
      clearTimeout(timer);
      secure.destroy();
      socket.destroy();
      reject(tlsFailed(reason));
    };
    const timer = setTimeout(() => fail(`did not complete within ${timeoutMs} ms`), timeoutMs);
    secure.on("error", (error) => fail(error.message));
    secure.once(role === "acceptor" ? "secure" : "secureConnect", () => {
      const presented = secure.getPeerX509Certificate();
      if (presented === undefined) return fail("the peer presented no certificate");
      if (!presented.raw.equals(peerCertificateDer)) {
        return fail("the peer's TLS certificate is not the certificate it authenticated with");
      }
      clearTimeout(timer);
      resolve(secure);
    });
  });
}

function tlsFailed(reason: string): SqlError {
  return handshakeFailed(`The TLS upgrade of the mirroring connection failed: ${reason}.`, HandshakeFailure.TLS);
}

/** What a new channel needs to know about the handshake that opened it. */
export function channelInfo(socket: Socket, agreed: EstablishedHandshake, cipher: string | null,
  role: "initiator" | "acceptor"): ChannelInfo {
  return {
    role, peerLogin: agreed.peerLogin, peerCertificateName: agreed.peer.certificateName,
    peerCertificateDer: agreed.peer.certificate.der, encrypted: agreed.encrypt, algorithm: agreed.algorithm,
    cipher, remoteAddress: remoteOf(socket),
  };
}

/** host:port, IPv6 in brackets, as the error log names a client. */
export function remoteOf(socket: Socket): string {
  const host = socket.remoteAddress ?? "unknown";
  return `${host.includes(":") ? `[${host}]` : host}:${socket.remotePort ?? 0}`;
}
