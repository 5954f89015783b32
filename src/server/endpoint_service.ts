// The instance's DATABASE_MIRRORING endpoint at run time: listens while the endpoint is STARTED,
// authenticates peers against master (a certificate with the peer's public key → its owner user
// → that user's login, or a login FROM CERTIFICATE; then CONNECT on the endpoint), logs refused
// connections with their SQL Server error, and runs the endpoint check. An accepted channel that
// opens with a mirroring HELLO goes to its database's session; any other echoes DATA frames,
// which is what the check uses to prove that messages flow both ways.
import { X509Certificate } from "node:crypto";
import type { EndpointEntry } from "../catalog/master.js";
import {
  EndpointListener, connectEndpoint, endpointCheck, type EndpointCheckStep, type EndpointIdentity,
  type EndpointPolicy, type MirroringChannel,
} from "../endpoint/transport.js";
import { SqlError } from "../errors/sql_error.js";
import { openPrivateKey } from "../security/keys.js";
import type { Instance } from "./instance.js";
import { databaseMasterKey } from "./security_commands.js";

const MASTER_DATABASE_ID = 1;

export interface CheckOptions {
  readonly pings: number;
  readonly messages: number;
  readonly timeoutMs: number;
}

export class MirroringEndpointService {
  private listener: EndpointListener | null = null;
  private readonly channels = new Set<MirroringChannel>();

  constructor(private readonly instance: Instance) {}

  /** Makes the listener match the endpoint (null: dropped). A port in use gives 7890. */
  async apply(entry: EndpointEntry | null): Promise<void> {
    await this.stop();
    if (entry === null || entry.state !== "STARTED") return;
    const listener = new EndpointListener(this.identity(entry), this.policy(entry));
    try {
      await listener.listen(entry.listenerIp ?? "0.0.0.0", entry.port);
    } catch {
      await listener.close();
      throw new SqlError("ENDPOINT_PORT_IN_USE", [entry.name]);
    }
    this.listener = listener;
  }

  /** At start: the endpoint in master starts listening again (its failure is logged, not fatal). */
  async start(): Promise<void> {
    const entry = this.instance.catalog.endpoints()[0];
    if (entry === undefined) return;
    await this.loadMasterUsers();
    try {
      await this.apply(entry);
    } catch (error) {
      process.stderr.write(`mirrorlite: Error: 26023, the endpoint '${entry.name}' cannot listen on port `
        + `${entry.port}: ${(error as Error).message}\n`);
    }
  }

  async stop(): Promise<void> {
    const listener = this.listener;
    this.listener = null;
    for (const channel of this.channels) channel.close("endpoint stopped");
    this.channels.clear();
    await listener?.close();
  }

  /** The endpoint's identity: its certificate and the private key opened with the master key. */
  identity(entry: EndpointEntry): EndpointIdentity {
    const cert = this.instance.catalog.certificate(entry.certificate);
    if (cert === undefined || cert.privateKey === null) throw new SqlError("TRANSPORT_OWN_CERTIFICATE", [entry.certificate, 1]);
    const privateKey = openPrivateKey(cert.privateKey, databaseMasterKey({ instance: this.instance }));
    if (privateKey === null) throw new SqlError("TRANSPORT_OWN_CERTIFICATE", [entry.certificate, 2]);
    return { certificateDer: Buffer.from(cert.certificateDer, "base64"), privateKey,
      encryption: entry.encryption, algorithms: entry.algorithms };
  }

  policy(entry: EndpointEntry): EndpointPolicy {
    return {
      lookupCertificate: (der) => this.lookupCertificate(der),
      authorize: (peer) => this.authorize(entry, peer.certificateName),
      onRefused: (error, remote) => {
        process.stderr.write(`mirrorlite: Database Mirroring login attempt failed with error: '${error.message}' `
          + `Error: ${error.number}, State: ${error.state}. [CLIENT: ${remote}]\n`);
      },
      onConnection: (channel) => this.adopt(channel),
    };
  }

  /** The master certificate with this public key (the peer proved it holds the private key). */
  private lookupCertificate(der: Buffer): { name: string } | null {
    let spki: Buffer;
    try {
      spki = new X509Certificate(der).publicKey.export({ type: "spki", format: "der" });
    } catch {
      return null;
    }
    const match = this.instance.catalog.certificates().find((cert) =>
      new X509Certificate(Buffer.from(cert.certificateDer, "base64")).publicKey
        .export({ type: "spki", format: "der" }).equals(spki));
    return match === undefined ? null : { name: match.name };
  }

  /** Certificate → login (FROM CERTIFICATE, or the owner user's SID) → CONNECT permission. */
  private authorize(entry: EndpointEntry, certificateName: string): { loginName: string } | SqlError {
    const catalog = this.instance.catalog;
    const cert = catalog.certificate(certificateName);
    const mapped = catalog.logins().find((login) => login.certificate?.toLowerCase() === certificateName.toLowerCase());
    const owner = cert?.ownerUser === null || cert === undefined ? undefined
      : this.instance.principals.cached(MASTER_DATABASE_ID)
        .find((user) => user.name.toLowerCase() === cert.ownerUser!.toLowerCase());
    const ownerSid = owner?.sid ?? null;
    const login = mapped ?? (ownerSid === null ? undefined : catalog.loginBySid(ownerSid));
    if (login === undefined) {
      return new SqlError("TRANSPORT_BAD_CERTIFICATE", [`the owner of certificate '${certificateName}' is not mapped to a login`, 3]);
    }
    const grants = catalog.endpointPermissions().filter((grant) => grant.endpointId === entry.id
      && grant.granteeSid === login.sid && grant.permission === "CONNECT");
    const denied = grants.some((grant) => grant.state === "D");
    const granted = login.sysadmin || login.sid === entry.ownerSid || grants.some((grant) => grant.state === "G");
    if (denied || !granted || login.disabled) return new SqlError("TRANSPORT_NO_CONNECT", [login.name, 1]);
    return { loginName: login.name };
  }

  /** Mirroring sessions take channels that open with a HELLO; the endpoint check's messages are echoed. */
  private adopt(channel: MirroringChannel): void {
    this.channels.add(channel);
    this.instance.mirroring.adopt(channel, (frame) => {
      if (frame.type === "DATA" && !channel.closed) void channel.send("DATA", frame.payload);
    });
    channel.on("close", () => this.channels.delete(channel));
  }

  /** Master's users, which authorize() reads synchronously; reloaded after each change. */
  async loadMasterUsers(): Promise<void> {
    const master = this.instance.database("master");
    if (master !== null) {
      this.instance.principals.forget(MASTER_DATABASE_ID);
      await this.instance.principals.load(MASTER_DATABASE_ID, master.db);
    }
  }

  /**
   * sp_mirrorlite_endpoint_check: connects to a partner's endpoint as SET PARTNER would and
   * reports each step; once connected, sends DATA frames (echoed back) and pings.
   */
  async check(address: string, options: CheckOptions): Promise<EndpointCheckStep[]> {
    const entry = this.instance.catalog.endpoints()[0];
    if (entry === undefined) {
      return [{ step: "hello", ok: false, detail: "this instance has no DATABASE_MIRRORING endpoint (CREATE ENDPOINT first)" }];
    }
    const identity = this.identity(entry);
    const policy = this.policy(entry);
    const steps = await endpointCheck(address, identity, policy, { timeoutMs: options.timeoutMs });
    if (steps.some((step) => !step.ok)) return steps;
    const channel = await connectEndpoint(address, identity, policy, { timeoutMs: options.timeoutMs });
    try {
      steps.push(await exchange(channel, options));
      for (let i = 0; i < options.pings; i++) await channel.ping(options.timeoutMs);
      if (options.pings > 0) steps.push({ step: "ping", ok: true, detail: `${options.pings} pings answered` });
    } catch (error) {
      steps.push({ step: "ping", ok: false, detail: (error as Error).message });
    } finally {
      channel.close();
    }
    return steps;
  }
}

/** Sends `messages` DATA frames and waits for each echo: messages flow both ways. */
async function exchange(channel: MirroringChannel, options: CheckOptions): Promise<EndpointCheckStep> {
  const received: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${options.messages} messages came back`)),
      options.timeoutMs);
    channel.on("frame", (frame) => {
      if (frame.type !== "DATA") return;
      received.push(frame.payload);
      if (received.length === options.messages) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  for (let i = 0; i < options.messages; i++) await channel.send("DATA", Buffer.from(`mirrorlite message ${i}`));
  await done;
  const intact = received.every((payload, i) => payload.toString() === `mirrorlite message ${i}`);
  return { step: "ping", ok: intact, detail: `${options.messages} framed messages sent and echoed back`
    + (channel.encrypted ? ` (encrypted, ${channel.algorithm ?? "?"})` : " (not encrypted)") };
}
