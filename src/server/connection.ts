// One client connection: PRELOGIN, LOGIN7, then one request at a time, each answered by exactly
// one response message (ATTENTION included: the cancelled request's response, then a message
// holding only DONE(ATTN)). Bad input closes only this connection; its transaction rolls back.
import type { Socket } from "node:net";
import { SqlError } from "../errors/sql_error.js";
import { negotiateEncryption, type ServerEncryption, type TlsUse } from "../tds/encryption.js";
import type { LoginEntry } from "../catalog/master.js";
import { parseLogin7, type Login7 } from "../tds/login7.js";
import { encodeMessage, MessageReader, PacketType, ProtocolViolation,
  type IncomingMessage } from "../tds/packet.js";
import { buildPreloginReply, parsePrelogin } from "../tds/prelogin.js";
import { DoneStatus, TokenWriter } from "../tds/tokens.js";
import type { Instance } from "./instance.js";
import { PRODUCT_NAME, PRODUCT_VERSION } from "./instance.js";
import { ResponseStream } from "./response.js";
import { TdsSocket } from "./tds_socket.js";
import { dispatchRequest } from "./dispatch.js";
import { TsqlSession } from "./tsql_session.js";
import { writeLoginResponse } from "./login_response.js";

const PACKET_BYTES_MAX = 32_767;
const PACKET_BYTES_MIN = 512;
const PACKET_BYTES_DEFAULT = 4096;
/** Before login nothing big is legitimate; after, a batch may carry a large script. */
const MESSAGE_BYTES_BEFORE_LOGIN = 64 * 1024;
const MESSAGE_BYTES_MAX = 64 * 1024 * 1024;
/** Requests read ahead while one runs; beyond this the socket is paused (bounded memory). */
const QUEUED_REQUESTS_MAX = 4;

type Phase = "prelogin" | "login" | "ready" | "closed";

export class TdsConnection {
  readonly spid: number;
  private phase: Phase = "prelogin";
  private reader = new MessageReader({ packetBytesMax: PACKET_BYTES_MAX, messageBytesMax: MESSAGE_BYTES_BEFORE_LOGIN });
  private readonly queue: IncomingMessage[] = [];
  private running: Promise<void> | null = null;
  private attentionPending = false;
  private packetBytes = PACKET_BYTES_DEFAULT;
  private session: TsqlSession | null = null;
  private readonly loginTimer: NodeJS.Timeout;
  private closed: Promise<void> = Promise.resolve();
  /** The client's stream: plaintext TDS whatever the wire carries (raw, TDS 7.x TLS, TDS 8.0). */
  private readonly socket: TdsSocket;
  /** What the PRELOGIN exchange agreed on; checked when LOGIN7 arrives. */
  private tlsUse: TlsUse = "none";

  constructor(private readonly instance: Instance, rawSocket: Socket, loginTimeoutMs: number) {
    this.spid = instance.nextSpid();
    this.loginTimer = setTimeout(() => this.drop("login timeout"), loginTimeoutMs);
    this.socket = new TdsSocket(rawSocket, instance.tls, {
      data: (chunk) => this.onData(chunk),
      close: (reason) => this.drop(reason),
    });
  }

  /** The database the session is using (null before login). */
  get databaseId(): number | null {
    return this.session?.databaseId ?? null;
  }

  /** A mirroring role change: the session ends, its open transaction is rolled back. */
  async kill(reason: string): Promise<void> {
    this.drop(reason);
    await this.closed;
  }

  /** Instance shutdown: stop the running request, roll back, close. */
  async shutdown(): Promise<void> {
    this.drop("shutdown");
    await this.closed;
  }

  private onData(chunk: Buffer): void {
    if (this.phase === "closed") return;
    if (this.phase === "prelogin" && this.reader.bufferedBytes === 0 && chunk.length > 0
      && chunk[0] !== PacketType.PRELOGIN && chunk[0] !== PacketType.LOGIN7) {
      // Not a TDS client (or TDS 4.2/5.0): say so at once instead of waiting for a whole packet.
      this.drop(`protocol violation: first packet type 0x${chunk[0]!.toString(16)}`);
      return;
    }
    try {
      this.reader.push(chunk);
      for (let message = this.reader.next(); message !== null; message = this.reader.next()) {
        this.accept(message);
      }
    } catch (error) {
      if (!(error instanceof ProtocolViolation)) throw error;
      this.drop(`protocol violation: ${error.reason}`);
    }
  }

  private accept(message: IncomingMessage): void {
    if (message.type === PacketType.ATTENTION) {
      this.attention();
      return;
    }
    this.queue.push(message);
    if (this.queue.length > QUEUED_REQUESTS_MAX) this.socket.pause();
    this.pump();
  }

  private pump(): void {
    if (this.running !== null || this.phase === "closed") return;
    const message = this.queue.shift();
    if (message === undefined) return;
    if (this.queue.length <= QUEUED_REQUESTS_MAX) this.socket.resume();
    this.running = this.handle(message)
      .catch((error: Error) => this.drop(error instanceof ProtocolViolation
        ? `protocol violation: ${error.reason}` : `request failed: ${error.stack ?? error.message}`))
      .finally(() => {
        this.running = null;
        this.pump();
      });
  }

  /** Cancel: the running request stops and answers; then a message with only DONE(ATTN). */
  private attention(): void {
    this.attentionPending = true;
    this.session?.cancel();
    if (this.running === null) void this.answerAttention();
  }

  private async answerAttention(): Promise<void> {
    if (!this.attentionPending) return;
    this.attentionPending = false;
    const out = new ResponseStream(this.socket, this.packetBytes, this.spid);
    out.tokens.done(DoneStatus.ATTN, 0, 0);
    await out.end();
  }

  private async handle(message: IncomingMessage): Promise<void> {
    switch (this.phase) {
      case "prelogin": return this.prelogin(message);
      case "login": return this.login(message);
      case "ready": return this.request(message);
      case "closed": return;
    }
  }

  private async prelogin(message: IncomingMessage): Promise<void> {
    if (message.type === PacketType.LOGIN7) {
      // PRELOGIN is optional for old clients; go straight to login.
      this.phase = "login";
      return this.login(message);
    }
    if (message.type !== PacketType.PRELOGIN) return this.drop("expected PRELOGIN");
    const client = parsePrelogin(message.payload);
    const decision = negotiateEncryption(client.encryption, this.serverEncryption());
    const reply = buildPreloginReply({ version: PRODUCT_VERSION, encryption: decision.reply });
    this.socket.write(encodeMessage(PacketType.TABULAR_RESULT, reply, PACKET_BYTES_DEFAULT, 0));
    this.tlsUse = decision.tls;
    // The client's next bytes are its TLS handshake, wrapped in PRELOGIN packets.
    if (decision.tls !== "none") this.socket.startTls();
    this.phase = "login";
  }

  private serverEncryption(): ServerEncryption {
    if (this.socket.encryption === "strict") return "inside-tls";
    return this.instance.tls.forceEncryption ? "forced" : "certificate";
  }

  private async login(message: IncomingMessage): Promise<void> {
    if (message.type !== PacketType.LOGIN7) return this.drop("expected LOGIN7");
    const encrypted = this.socket.encryption !== "none";
    if (!encrypted && (this.tlsUse !== "none" || this.instance.tls.forceEncryption)) {
      return this.refuseUnencrypted();
    }
    // Login-only encryption (the client answered OFF): the LOGINACK and all after it in plaintext.
    if (this.tlsUse === "login-only") this.socket.stopTls();
    const login = parseLogin7(message.payload);
    const out = new ResponseStream(this.socket, PACKET_BYTES_DEFAULT, this.spid);
    const failure = await this.authenticate(login);
    if (failure === "route") return this.routeToPrincipal(out, login);
    if (failure !== null) {
      for (const error of failure) out.tokens.error(this.errorToken(error, 1));
      out.tokens.done(DoneStatus.ERROR, 0, 0);
      await out.end();
      return this.drop("login failed");
    }
    this.packetBytes = Math.min(PACKET_BYTES_MAX, Math.max(PACKET_BYTES_MIN, login.packetSize || PACKET_BYTES_DEFAULT));
    writeLoginResponse(out.tokens, this.session!, this.packetBytes, this.instance.serverName);
    await out.end();
    clearTimeout(this.loginTimer);
    // Clients send nothing between LOGIN7 and the LOGINACK, so no buffered bytes are lost here.
    this.reader = new MessageReader({ packetBytesMax: PACKET_BYTES_MAX, messageBytesMax: MESSAGE_BYTES_MAX });
    this.phase = "ready";
  }

  /**
   * --route-mirror-logins: a login that names the mirror copy is sent to the principal with
   * LOGINACK + ENVCHANGE 20 (tedious and FreeTDS reconnect there transparently).
   */
  private async routeToPrincipal(out: ResponseStream, login: Login7): Promise<void> {
    const target = this.instance.mirroring.session(login.database)!.principalTdsAddress!;
    const at = target.lastIndexOf(":");
    out.tokens.loginAck(PRODUCT_NAME, PRODUCT_VERSION);
    out.tokens.envRouting(target.slice(0, at).replace(/^\[|\]$/g, ""), Number(target.slice(at + 1)));
    out.tokens.done(DoneStatus.FINAL, 0, 0);
    await out.end();
    return this.drop(`login to mirror database '${login.database}' routed to the principal at ${target}`);
  }

  /** A plaintext LOGIN7 where TLS was agreed on or is forced: SQL Server's 17835, then close. */
  private async refuseUnencrypted(): Promise<void> {
    const out = new ResponseStream(this.socket, PACKET_BYTES_DEFAULT, this.spid);
    out.tokens.error(this.errorToken(new SqlError("ENCRYPTION_REQUIRED"), 1));
    out.tokens.done(DoneStatus.ERROR, 0, 0);
    await out.end();
    return this.drop("login refused: the client does not encrypt and encryption is required");
  }

  /** The login of this connection's session (null before login). */
  get loginName(): string | null {
    return this.session?.login.name ?? null;
  }

  /** Returns the errors to send, or null when the login succeeded (and the session exists). */
  private async authenticate(login: Login7): Promise<SqlError[] | "route" | null> {
    if (login.integratedSecurity) return [new SqlError("LOGIN_INTEGRATED_REFUSED")];
    if (this.instance.stoppingNow) return [new SqlError("SERVER_SHUTTING_DOWN")];
    const entry = this.instance.catalog.login(login.userName);
    const reason = await this.loginProblem(entry, login);
    if (reason !== null || entry === undefined) {
      // The client sees state 1, as SQL Server sends; the log says why (SQL Server's states).
      this.logLoginFailure(login.userName, reason ?? { state: 5, text: "Could not find a login matching the name provided." });
      return [new SqlError("LOGIN_FAILED", [login.userName])];
    }
    const databaseName = login.database !== "" ? login.database : entry.defaultDatabase;
    const target = this.instance.database(databaseName);
    if (target === null && this.instance.options.routeMirrorLogins === true
      && this.instance.mirroring.session(databaseName)?.principalTdsAddress != null) return "route";
    if (target === null || this.instance.mirroring.blocksUsers(target.entry.name)
      || !await this.instance.canAccess(entry, target.entry.id)) {
      this.logLoginFailure(login.userName, { state: target === null ? 38 : 40,
        text: `Failed to open the explicitly specified database '${databaseName}'.` });
      return [new SqlError("LOGIN_DATABASE_UNAVAILABLE", [databaseName]),
        new SqlError("LOGIN_FAILED", [login.userName])];
    }
    this.session = new TsqlSession(this.instance, this.spid, entry, target.entry);
    return null;
  }

  /** SQL Server's 18456 states: 5 no such login, 7 disabled, 8 wrong password, 58 not a SQL login. */
  private async loginProblem(entry: LoginEntry | undefined, login: Login7): Promise<{ state: number; text: string } | null> {
    if (entry === undefined) return { state: 5, text: "Could not find a login matching the name provided." };
    if (entry.type === "C") return { state: 58, text: "The login is mapped to a certificate and cannot log in with a password." };
    if (!await this.instance.passwords.verify(entry.name, login.password, entry.passwordHash)) {
      return { state: 8, text: "Password did not match that for the login provided." };
    }
    if (entry.disabled) return { state: 7, text: "Login is disabled." };
    return null;
  }

  private logLoginFailure(userName: string, reason: { state: number; text: string }): void {
    process.stderr.write(`mirrorlite: Login failed for user '${userName}'. Reason: ${reason.text} `
      + `[CLIENT: ${this.socket.remoteAddress ?? "?"}] Error: 18456, Severity: 14, State: ${reason.state}.\n`);
  }

  private async request(message: IncomingMessage): Promise<void> {
    const out = new ResponseStream(this.socket, this.packetBytes, this.spid);
    if (message.ignore) {
      await out.end();
      return this.answerAttention();
    }
    await dispatchRequest(this.session!, message, out, () => this.attentionPending);
    await out.end();
    await this.answerAttention();
  }

  private errorToken(error: SqlError, line: number): Parameters<TokenWriter["error"]>[0] {
    return { number: error.number, state: error.state, severity: error.severity, text: error.message,
      serverName: this.instance.serverName, procName: "", line };
  }

  /**
   * Closes this connection only. Never awaited from inside a request (the request would wait for
   * itself); `closed` resolves once the running request ended and the session rolled back.
   */
  private drop(reason: string): void {
    if (this.phase === "closed") return;
    const wasReady = this.phase === "ready";
    this.phase = "closed";
    clearTimeout(this.loginTimer);
    this.queue.length = 0;
    if (reason.startsWith("protocol violation") || reason.startsWith("request failed")
      || (!wasReady && reason !== "closed by client")) {
      process.stderr.write(`mirrorlite: connection ${this.spid} from ${this.socket.remoteAddress ?? "?"} `
        + `closed: ${reason}\n`);
    }
    this.session?.cancel();
    this.socket.destroy();
    const running = this.running;
    this.closed = (async () => {
      await running?.catch(() => undefined);
      await this.session?.close();
    })();
  }
}
