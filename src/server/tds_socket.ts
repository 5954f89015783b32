// The client's byte stream as the connection sees it: plaintext TDS in and out, whether the wire
// carries it raw, inside TLS negotiated in PRELOGIN (TDS 7.x, full or login-only), or inside TLS
// from the first byte (TDS 8.0 strict). The connection only says when TLS starts and, for
// login-only encryption, when it stops; the wire format changes underneath (spec/tds.md §1.2-1.3).
import type { Socket } from "node:net";
import * as tls from "node:tls";
import { constants } from "node:crypto";
import { PacketType } from "../tds/packet.js";
import type { TdsOutput } from "./response.js";
import { TlsBridge } from "./tls_bridge.js";

/** A TLS handshake record's first byte: a client that opens with it speaks TDS 8.0 strict. */
const TLS_HANDSHAKE_RECORD = 0x16;

/** The TLS configuration every connection of an instance shares. */
export interface TlsSettings {
  /** TDS 7.x (handshake inside PRELOGIN): at most TLS 1.2, as tedious forces and FreeTDS needs. */
  readonly tds7: tls.SecureContext;
  /** TDS 8.0 strict: TLS 1.2 or 1.3, ALPN tds/8.0. */
  readonly strict: tls.SecureContext;
  /** --force-encryption: PRELOGIN answers REQ and unencrypted logins are refused. */
  readonly forceEncryption: boolean;
}

export function createTlsSettings(certPem: string, keyPem: string, forceEncryption: boolean): TlsSettings {
  return {
    // TLS 1.3 on the wrapped path hangs FreeTDS: the server's post-handshake NewSessionTicket
    // arrives wrapped after the client went raw (tds.md pitfall 3). No tickets on TLS 1.2
    // either, so every handshake has the same shape and ends with the server's Finished.
    tds7: tls.createSecureContext({ cert: certPem, key: keyPem, minVersion: "TLSv1.2",
      maxVersion: "TLSv1.2", secureOptions: constants.SSL_OP_NO_TICKET }),
    strict: tls.createSecureContext({ cert: certPem, key: keyPem, minVersion: "TLSv1.2" }),
    forceEncryption,
  };
}

export interface TdsSocketEvents {
  /** Plaintext TDS bytes from the client. */
  readonly data: (chunk: Buffer) => void;
  /** The stream is over (client closed, socket error, TLS failure); called at most once. */
  readonly close: (reason: string) => void;
}

export type WireEncryption = "none" | "tds7" | "strict";

type Mode =
  | "first-byte" // nothing received yet: 0x16 means strict TLS, anything else plain TDS
  | "plain"
  | "tls-expected" // PRELOGIN promised TLS; the next bytes must be a wrapped handshake
  | "tls";

interface ActiveTls {
  readonly socket: tls.TLSSocket;
  readonly bridge: TlsBridge;
  readonly strict: boolean;
}

export class TdsSocket implements TdsOutput {
  private mode: Mode = "first-byte";
  private tls: ActiveTls | null = null;
  private ended = false;

  constructor(private readonly raw: Socket, private readonly settings: TlsSettings,
    private readonly events: TdsSocketEvents) {
    raw.on("data", (chunk: Buffer) => this.receive(chunk));
    raw.on("end", () => this.tls?.bridge.receiveEnd());
    raw.on("error", (error) => this.close(`socket error: ${error.message}`));
    raw.on("close", () => this.close("closed by client"));
  }

  get remoteAddress(): string | undefined { return this.raw.remoteAddress; }
  get destroyed(): boolean { return this.ended || this.raw.destroyed; }

  /** What protects the bytes right now. */
  get encryption(): WireEncryption {
    if (this.tls === null) return "none";
    return this.tls.strict ? "strict" : "tds7";
  }

  /**
   * The PRELOGIN reply promising TLS has been written: the client's next message is a TLS
   * handshake inside PRELOGIN packets. A client that sends anything else stays in plaintext
   * (encryption "none"), and the connection refuses its login.
   */
  startTls(): void {
    if (this.mode === "plain") this.mode = "tls-expected";
  }

  /** Login-only encryption: LOGIN7 has been read; everything after it is plaintext. */
  stopTls(): void {
    const current = this.tls;
    if (current === null || current.strict) return;
    this.tls = null;
    this.mode = "plain";
    current.socket.removeAllListeners();
    current.socket.on("error", () => undefined);
    current.bridge.detach();
    current.socket.destroy();
  }

  write(bytes: Buffer): boolean {
    if (this.destroyed) return true;
    return (this.tls?.socket ?? this.raw).write(bytes);
  }

  /** Resolves when the stream can take more bytes, or is closed. */
  drained(): Promise<void> {
    const target = this.tls?.socket ?? this.raw;
    return new Promise((resolve) => {
      if (this.destroyed || target.destroyed || !target.writableNeedDrain) return resolve();
      const done = (): void => {
        target.off("drain", done);
        target.off("close", done);
        resolve();
      };
      target.on("drain", done);
      target.on("close", done);
    });
  }

  /** Stops reading from the client (bounded read-ahead); TLS pauses the raw socket in turn. */
  pause(): void { (this.tls?.socket ?? this.raw).pause(); }
  resume(): void { (this.tls?.socket ?? this.raw).resume(); }

  /** Closes everything, without reporting a close event (the owner asked for it). */
  destroy(): void {
    if (this.ended) return;
    this.ended = true;
    this.teardown();
  }

  private receive(chunk: Buffer): void {
    if (this.ended) return;
    switch (this.mode) {
      case "first-byte":
        if (chunk[0] === TLS_HANDSHAKE_RECORD) {
          this.beginTls(true);
          return this.tls!.bridge.receive(chunk);
        }
        this.mode = "plain";
        return this.events.data(chunk);
      case "plain":
        return this.events.data(chunk);
      case "tls-expected":
        if (chunk[0] !== PacketType.PRELOGIN) {
          this.mode = "plain";
          return this.events.data(chunk);
        }
        this.beginTls(false);
        return this.tls!.bridge.receive(chunk);
      case "tls":
        return this.tls!.bridge.receive(chunk);
    }
  }

  private beginTls(strict: boolean): void {
    const bridge = new TlsBridge(this.raw, !strict,
      (violation) => this.close(`protocol violation: ${violation.message}`));
    const socket = new tls.TLSSocket(bridge, {
      isServer: true,
      secureContext: strict ? this.settings.strict : this.settings.tds7,
      ...(strict ? { ALPNProtocols: ["tds/8.0"] } : {}),
    });
    socket.on("data", (chunk: Buffer) => this.events.data(chunk));
    socket.on("error", (error) => this.close(`tls: ${error.message}`));
    socket.on("close", () => this.close("closed by client"));
    this.tls = { socket, bridge, strict };
    this.mode = "tls";
  }

  private close(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.teardown();
    this.events.close(reason);
  }

  private teardown(): void {
    const current = this.tls;
    if (current !== null) {
      current.socket.on("error", () => undefined);
      current.socket.destroy();
    }
    this.raw.destroy();
  }
}
