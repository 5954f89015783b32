// Endpoint certificates and policies for the mirroring transport tests: each "instance" has an
// RSA-2048 key and a self-signed certificate made by src/security/x509.ts (as CREATE CERTIFICATE
// would), and a policy playing its master database: which certificates it holds, which user
// (login) owns each, and which logins have CONNECT on the endpoint.
import * as crypto from "node:crypto";
import * as net from "node:net";
import { SqlError } from "../../src/errors/sql_error.js";
import { buildSelfSignedCertificate } from "../../src/security/x509.js";
import type { MirroringChannel } from "../../src/endpoint/channel.js";
import type { EndpointIdentity, EndpointPolicy } from "../../src/endpoint/endpoint_identity.js";
import { FrameDecoder, type Frame } from "../../src/endpoint/frames.js";
import { EndpointListener } from "../../src/endpoint/transport.js";
import type { EndpointAlgorithm, EndpointEncryption } from "../../src/endpoint/handshake_messages.js";

const DAY_MS = 24 * 60 * 60 * 1000;
let serial = 1n;

export interface TestInstance {
  readonly name: string;
  readonly privateKey: crypto.KeyObject;
  readonly certificateDer: Buffer;
}

/** An instance certificate valid from yesterday for a year, or over the given dates. */
export function makeInstance(name: string, dates: { notBefore?: Date; notAfter?: Date } = {},
  keys = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })): TestInstance {
  const now = Date.now();
  const certificateDer = buildSelfSignedCertificate({
    subjectCommonName: `${name} certificate`,
    notBefore: dates.notBefore ?? new Date(now - DAY_MS),
    notAfter: dates.notAfter ?? new Date(now + 365 * DAY_MS),
    serialNumber: serial++,
    publicKey: keys.publicKey.export({ type: "spki", format: "der" }),
    sign: (tbs) => crypto.sign("sha256", tbs, keys.privateKey),
  });
  return { name, privateKey: keys.privateKey, certificateDer };
}

export function identityOf(instance: TestInstance, encryption: EndpointEncryption = "REQUIRED",
  algorithms: readonly EndpointAlgorithm[] = ["AES"]): EndpointIdentity {
  return { certificateDer: instance.certificateDer, privateKey: instance.privateKey, encryption, algorithms };
}

/** A test master: known certificates, their owners' logins, and the CONNECT grants. */
export class TestMaster implements EndpointPolicy {
  readonly refusals: { error: SqlError; remote: string }[] = [];
  readonly channels: MirroringChannel[] = [];
  private readonly certificates = new Map<string, { name: string; login: string }>();
  private readonly granted = new Set<string>();

  /** CREATE LOGIN / CREATE USER / CREATE CERTIFICATE … AUTHORIZATION user FROM FILE [/ GRANT CONNECT]. */
  trust(instance: TestInstance, options: { grantConnect?: boolean } = {}): this {
    const login = `${instance.name}_login`;
    this.certificates.set(keyOf(instance.certificateDer), { name: `${instance.name}_cert`, login });
    if (options.grantConnect ?? true) this.granted.add(login);
    return this;
  }

  lookupCertificate(certificateDer: Buffer): { name: string } | null {
    const known = this.certificates.get(keyOf(certificateDer));
    return known === undefined ? null : { name: known.name };
  }

  authorize(peer: { certificateName: string; certificateDer: Buffer }): { loginName: string } | SqlError {
    const known = this.certificates.get(keyOf(peer.certificateDer));
    if (known === undefined) return new SqlError("TRANSPORT_BAD_CERTIFICATE", ["not in master", 9]);
    if (!this.granted.has(known.login)) return new SqlError("TRANSPORT_NO_CONNECT", [known.login, 1]);
    return { loginName: known.login };
  }

  onRefused(error: SqlError, remote: string): void {
    this.refusals.push({ error, remote });
  }

  onConnection(channel: MirroringChannel): void {
    this.channels.push(channel);
  }
}

/** Certificates are matched by public key, as SQL Server matches a peer to master. */
function keyOf(certificateDer: Buffer): string {
  const spki = new crypto.X509Certificate(certificateDer).publicKey.export({ type: "spki", format: "der" });
  return spki.toString("hex");
}

/** A listening instance: its identity, its master and its endpoint port. */
export interface Running {
  readonly identity: EndpointIdentity;
  readonly master: TestMaster;
  readonly listener: EndpointListener;
  readonly port: number;
  readonly address: string;
}

/** CREATE ENDPOINT … STATE = STARTED on 127.0.0.1, port 0. */
export async function start(instance: TestInstance, master: TestMaster, identity = identityOf(instance),
  handshakeTimeoutMs = 2000): Promise<Running> {
  const listener = new EndpointListener(identity, master, { handshakeTimeoutMs });
  const port = await listener.listen("127.0.0.1", 0);
  return { identity, master, listener, port, address: `TCP://127.0.0.1:${port}` };
}

export async function stop(...running: Running[]): Promise<void> {
  await Promise.all(running.map((r) => r.listener.close()));
}

export function nextFrame(channel: MirroringChannel): Promise<Frame> {
  return new Promise((resolve) => channel.once("frame", resolve));
}

/** Exactly one whole frame in these bytes. */
export function decodeOne(bytes: Buffer): Frame {
  const pushed = new FrameDecoder().push(bytes);
  if (!pushed.ok || pushed.frames.length !== 1) throw new Error(`not exactly one frame: ${bytes.toString("hex")}`);
  return pushed.frames[0]!;
}

/** Polls until the condition holds; fails after timeoutMs. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A TCP proxy recording both directions, to look at the bytes on the wire. */
export class RecordingProxy {
  readonly toAcceptor: Buffer[] = [];
  readonly toInitiator: Buffer[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly targetPort: number) {
    this.server = net.createServer((client) => {
      const upstream = net.connect({ host: "127.0.0.1", port: this.targetPort });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("error", () => {});
        socket.on("close", () => { client.destroy(); upstream.destroy(); });
      }
      client.on("data", (chunk: Buffer) => { this.toAcceptor.push(chunk); upstream.write(chunk); });
      upstream.on("data", (chunk: Buffer) => { this.toInitiator.push(chunk); client.write(chunk); });
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, "127.0.0.1",
      () => resolve((this.server.address() as net.AddressInfo).port)));
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Splits a recorded stream after the frame of the given type code, reading frame headers
 * independently of the codec under test: [frame type codes seen, bytes after that frame].
 */
export function splitAfterFrame(stream: Buffer, typeCode: number): { types: number[]; rest: Buffer } {
  const types: number[] = [];
  let offset = 0;
  while (offset + 8 <= stream.length) {
    if (stream[offset] !== 0x4d || stream[offset + 1] !== 0x4c) throw new Error(`no frame at ${offset}`);
    const type = stream[offset + 3]!;
    offset += 8 + stream.readUInt32BE(offset + 4);
    types.push(type);
    if (type === typeCode) return { types, rest: stream.subarray(offset) };
  }
  throw new Error(`no frame of type ${typeCode} in ${types.join(",")}`);
}

/** A raw TCP client: writes the given bytes (optionally), then collects what comes back until close. */
export function rawClient(port: number, bytes: Buffer | null): { closed: Promise<Buffer>; socket: net.Socket } {
  const socket = net.connect({ host: "127.0.0.1", port });
  const received: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => received.push(chunk));
  socket.on("error", () => {});
  if (bytes !== null) socket.write(bytes);
  const closed = new Promise<Buffer>((resolve) => socket.on("close", () => resolve(Buffer.concat(received))));
  return { closed, socket };
}
