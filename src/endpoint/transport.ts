// The DATABASE_MIRRORING endpoint transport: the listener of CREATE ENDPOINT … STATE = STARTED,
// and (re-exported) the connecting side, the channel and the endpoint check.
//
// The accepting side refuses with SQL Server's errors and reports each refusal through
// policy.onRefused (the error-log line "Database Mirroring login attempt … failed"). A client
// that is not a mirroring partner — garbage, silence, a TLS or TDS client, a half handshake, an
// oversized frame — is dropped with 28045 after at most the handshake timeout and buffers at
// most one handshake frame, so it never delays other connections.
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { SqlError } from "../errors/sql_error.js";
import { assert } from "../util/assert.js";
import { MirroringChannel } from "./channel.js";
import {
  handshakeContext, identityProblem, offerOf, type EndpointIdentity, type EndpointPolicy,
} from "./endpoint_identity.js";
import { handshakeFailed, HandshakeFailure, startAcceptor } from "./handshake.js";
import { NONCE_BYTES } from "./handshake_messages.js";
import {
  channelInfo, driveHandshake, remoteOf, upgradeToTls, type DrivenHandshake,
} from "./handshake_driver.js";

export { parseEndpointAddress, formatEndpointAddress, type EndpointAddress } from "./address.js";
export { ChannelError, MirroringChannel, type ChannelFrameType, type ChannelInfo } from "./channel.js";
export { connectEndpoint, type ConnectOptions, type ConnectPolicy } from "./connect.js";
export { endpointCheck, type EndpointCheckStep, type EndpointCheckStepName } from "./endpoint_check.js";
export type { EndpointIdentity, EndpointPolicy } from "./endpoint_identity.js";
export type { EndpointAlgorithm, EndpointEncryption } from "./handshake_messages.js";

export interface ListenerOptions {
  /** Time a new connection has to complete the handshake and the TLS upgrade. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /** Connections allowed in the handshake at once; more are dropped at once. Default 64. */
  readonly maxPendingHandshakes?: number;
}

export const HANDSHAKE_TIMEOUT_MS_DEFAULT = 10_000;
export const PENDING_HANDSHAKES_MAX_DEFAULT = 64;

export class EndpointListener {
  private readonly server: net.Server;
  private readonly handshakeTimeoutMs: number;
  private readonly maxPendingHandshakes: number;
  private readonly handshaking = new Set<net.Socket>();
  private readonly channels = new Set<MirroringChannel>();
  private closed = false;

  /** Throws 28036 when the certificate does not parse or the key is not its key. */
  constructor(private readonly identity: EndpointIdentity, private readonly policy: EndpointPolicy,
    options: ListenerOptions = {}) {
    const problem = identityProblem(identity);
    if (problem !== null) throw problem;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS_DEFAULT;
    this.maxPendingHandshakes = options.maxPendingHandshakes ?? PENDING_HANDSHAKES_MAX_DEFAULT;
    assert(this.handshakeTimeoutMs > 0 && this.maxPendingHandshakes > 0, "listener bounds must be positive");
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    assert(!this.closed, "listen() after close()");
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen({ host, port }, () => {
        this.server.off("error", reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  /** Connections still in the handshake. */
  get pendingHandshakes(): number {
    return this.handshaking.size;
  }

  /**
   * Stops listening and ends every connection of this endpoint, as stopping or dropping an
   * endpoint in use does (spec §3.2: the sessions' connections break).
   */
  close(): Promise<void> {
    this.closed = true;
    for (const socket of this.handshaking) socket.destroy();
    for (const channel of this.channels) channel.destroy(new Error("The mirroring endpoint was stopped."));
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const remote = remoteOf(socket);
    socket.on("error", () => {}); // a reset shows up as the end of the stream in the handshake
    if (this.closed) return void socket.destroy();
    if (this.handshaking.size >= this.maxPendingHandshakes) {
      socket.destroy();
      const error = handshakeFailed(`${this.maxPendingHandshakes} connections are already in the handshake.`,
        HandshakeFailure.PROTOCOL);
      return this.policy.onRefused(error, remote);
    }
    this.handshaking.add(socket);
    const state = startAcceptor(offerOf(this.identity), randomBytes(NONCE_BYTES));
    const deadlineMs = Date.now() + this.handshakeTimeoutMs; // the handshake and TLS together
    void driveHandshake(socket, { state, send: null },
      () => handshakeContext(this.identity, this.policy, Date.now()), this.handshakeTimeoutMs)
      .then((driven) => this.open(socket, driven, Math.max(1, deadlineMs - Date.now())))
      .then((channel) => {
        this.handshaking.delete(socket);
        this.adopt(channel);
      }, (error: unknown) => {
        this.handshaking.delete(socket);
        this.refuse(socket, remote, asSqlError(error));
      });
  }

  /** The channel of a completed handshake; rejects with the handshake's (or TLS's) error. */
  private async open(socket: net.Socket, driven: DrivenHandshake, remainingMs: number): Promise<MirroringChannel> {
    const outcome = driven.outcome;
    if (outcome.kind === "failed") throw outcome.error;
    const agreed = outcome.channel;
    let channel: MirroringChannel;
    if (!agreed.encrypt) {
      channel = new MirroringChannel(socket, channelInfo(socket, agreed, null, "acceptor"), driven.decoder,
        driven.pending);
    } else {
      if (driven.pending.length > 0 || driven.decoder.bufferedBytes > 0) {
        throw handshakeFailed("The peer sent plaintext after AUTH on an encrypted connection.", HandshakeFailure.TLS);
      }
      const secure = await upgradeToTls(socket, "acceptor", this.identity, agreed.peer.certificate.der, remainingMs);
      channel = new MirroringChannel(secure, channelInfo(secure, agreed, secure.getCipher().standardName, "acceptor"),
        driven.decoder);
    }
    return channel;
  }

  private adopt(channel: MirroringChannel): void {
    if (this.closed) return channel.destroy(new Error("The mirroring endpoint was stopped."));
    this.channels.add(channel);
    channel.once("close", () => this.channels.delete(channel));
    this.policy.onConnection(channel);
  }

  /** Ends a refused connection: the REFUSE (if any) is already queued, so end() flushes it. */
  private refuse(socket: net.Socket, remote: string, error: SqlError): void {
    socket.end(() => socket.destroy());
    setTimeout(() => socket.destroy(), 1000).unref(); // a peer that never reads cannot hold it
    this.policy.onRefused(error, remote);
  }
}

function asSqlError(error: unknown): SqlError {
  if (error instanceof SqlError) return error;
  return handshakeFailed(`The connection failed: ${(error as Error).message}.`, HandshakeFailure.PROTOCOL);
}
