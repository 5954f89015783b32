// The connecting side of the mirroring transport (ALTER DATABASE … SET PARTNER = 'TCP://…').
// Whatever goes wrong, the caller sees SQL Server's 1418 naming the address; the specific error
// (the partner's REFUSE, our own certificate check, the network error) is its `cause`, so a
// diagnostic can say which step failed.
import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import * as net from "node:net";
import { SqlError } from "../errors/sql_error.js";
import { parseEndpointAddress, type EndpointAddress } from "./address.js";
import { MirroringChannel } from "./channel.js";
import {
  handshakeContext, identityProblem, offerOf, type EndpointIdentity, type EndpointPolicy,
} from "./endpoint_identity.js";
import {
  handshakeFailed, HandshakeFailure, startInitiator, type EstablishedHandshake,
} from "./handshake.js";
import { NONCE_BYTES } from "./handshake_messages.js";
import { checkOwnCertificate } from "./peer_certificate.js";
import {
  channelInfo, driveHandshake, remoteOf, upgradeToTls, type DrivenHandshake, type StepObserver,
} from "./handshake_driver.js";

export interface ConnectOptions {
  /** Bound on the whole connection: resolve, TCP connect, handshake and TLS. Default 10 s. */
  readonly timeoutMs?: number;
}

export const CONNECT_TIMEOUT_MS_DEFAULT = 10_000;

/** The checks the connecting side makes; the acceptor's authorize is not needed here. */
export type ConnectPolicy = Pick<EndpointPolicy, "lookupCertificate">;

/** Progress of one connection attempt, for endpoint-check diagnostics. */
export interface DialTrace {
  step(name: "resolve" | "tcp connect" | "encryption", ok: boolean, detail: string): void;
  handshake: StepObserver;
  /** The initiator could not even start: its own certificate is unusable. */
  ownCertificate(error: SqlError): void;
}

const NO_TRACE: DialTrace = { step: () => {}, handshake: () => {}, ownCertificate: () => {} };

/**
 * Opens an authenticated channel to the endpoint at 'TCP://host:port'. Rejects with SqlError
 * 1418 (PARTNER_UNREACHABLE) whose `cause` is the specific error: the partner's refusal (28034,
 * 28027, 28035, 28055 …), our own check of the partner (28035, 28055, 28045), a network error,
 * or a RangeError for an address that does not parse.
 */
export function connectEndpoint(address: string, identity: EndpointIdentity, policy: ConnectPolicy,
  options: ConnectOptions = {}): Promise<MirroringChannel> {
  return dial(address, identity, policy, options, NO_TRACE);
}

export async function dial(address: string, identity: EndpointIdentity, policy: ConnectPolicy,
  options: ConnectOptions, trace: DialTrace): Promise<MirroringChannel> {
  const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT;
  const startedMs = Date.now();
  const remainingMs = (): number => Math.max(1, timeoutMs - (Date.now() - startedMs));
  const unreachable = (cause: unknown): SqlError => new SqlError("PARTNER_UNREACHABLE", [address], { cause });

  const parsed = parseEndpointAddress(address);
  if (!parsed.ok) {
    trace.step("resolve", false, parsed.reason);
    throw unreachable(new RangeError(parsed.reason));
  }
  // Our own certificate first, so an expired one never even opens a connection to the partner.
  const own = identityProblem(identity) ?? expiredOwnCertificate(identity);
  if (own !== null) {
    trace.ownCertificate(own);
    throw unreachable(own);
  }
  const socket = await open(parsed.address, remainingMs, trace).catch((error: unknown) => {
    throw unreachable(error);
  });
  try {
    return await handshake(socket, identity, policy, remainingMs, trace);
  } catch (error) {
    socket.destroy();
    throw unreachable(error);
  }
}

function expiredOwnCertificate(identity: EndpointIdentity): SqlError | null {
  const checked = checkOwnCertificate(identity.certificateDer, Date.now());
  return checked instanceof SqlError ? checked : null;
}

async function open(address: EndpointAddress, remainingMs: () => number, trace: DialTrace): Promise<net.Socket> {
  let ip: string;
  try {
    ip = net.isIP(address.host) !== 0 ? address.host
      : (await withTimeout(lookup(address.host), remainingMs(), `resolving ${address.host}`)).address;
  } catch (error) {
    trace.step("resolve", false, `${address.host}: ${(error as Error).message}`);
    throw error;
  }
  trace.step("resolve", true, `${address.host} is ${ip}`);
  const socket = net.connect({ host: ip, port: address.port, noDelay: true });
  socket.on("error", () => {}); // reported through the step that is waiting; never unhandled
  try {
    await withTimeout(new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve).once("error", reject);
    }), remainingMs(), `connecting to ${ip} port ${address.port}`);
  } catch (error) {
    socket.destroy();
    trace.step("tcp connect", false, `${ip} port ${address.port}: ${(error as Error).message}`);
    throw error;
  }
  trace.step("tcp connect", true, `connected to ${remoteOf(socket)}`);
  return socket;
}

async function handshake(socket: net.Socket, identity: EndpointIdentity, policy: ConnectPolicy,
  remainingMs: () => number, trace: DialTrace): Promise<MirroringChannel> {
  const started = startInitiator(offerOf(identity), randomBytes(NONCE_BYTES), Date.now());
  if ("error" in started) {
    trace.ownCertificate(started.error);
    throw started.error;
  }
  const driven = await driveHandshake(socket, { state: started.state, send: started.send },
    () => handshakeContext(identity, policy, Date.now()), remainingMs(), trace.handshake);
  if (driven.outcome.kind === "failed") throw driven.outcome.error;
  const agreed = driven.outcome.channel;
  if (!agreed.encrypt) {
    trace.step("encryption", true, "not encrypted: the endpoints agreed on no encryption (ENCRYPTION = DISABLED "
      + "on one side); the connection is authenticated only");
    return new MirroringChannel(socket, channelInfo(socket, agreed, null, "initiator"), driven.decoder, driven.pending);
  }
  return encrypted(socket, identity, agreed, driven, remainingMs, trace);
}

async function encrypted(socket: net.Socket, identity: EndpointIdentity, agreed: EstablishedHandshake,
  driven: DrivenHandshake, remainingMs: () => number, trace: DialTrace): Promise<MirroringChannel> {
  if (driven.pending.length > 0 || driven.decoder.bufferedBytes > 0) {
    const error = handshakeFailed("The partner sent plaintext after ACCEPT on an encrypted connection.",
      HandshakeFailure.TLS);
    trace.step("encryption", false, error.message);
    throw error;
  }
  try {
    const secure = await upgradeToTls(socket, "initiator", identity, agreed.peer.certificate.der, remainingMs());
    const info = channelInfo(secure, agreed, secure.getCipher().standardName, "initiator");
    trace.step("encryption", true, `TLS 1.3 ${info.cipher ?? ""} (ALGORITHM ${agreed.algorithm ?? ""} negotiated)`);
    return new MirroringChannel(secure, info, driven.decoder);
  } catch (error) {
    trace.step("encryption", false, (error as Error).message);
    throw error;
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
