// An authenticated connection between two DATABASE_MIRRORING endpoints, after the handshake:
// framed DATA messages both ways, PING/PONG for the partner timeout, CLOSE to end. Runtime: owns
// the socket (TLS 1.3 when the endpoints agreed to encrypt, plain TCP otherwise).
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { assert } from "../util/assert.js";
import { encodeFrame, FRAME_HEADER_BYTES, FRAME_PAYLOAD_MAX, FrameDecoder, type Frame } from "./frames.js";
import type { EndpointAlgorithm } from "./handshake_messages.js";

/**
 * send() asks the caller to wait once this many bytes are queued; it keeps the send queue of a
 * slow partner in memory bounded rather than in an ever-growing socket buffer.
 */
export const SEND_BUFFER_BYTES_HIGH = 1024 * 1024;
/** A caller that waits whenever send() asks can never queue more than this. */
export const SEND_QUEUE_BYTES_MAX = SEND_BUFFER_BYTES_HIGH + FRAME_HEADER_BYTES + FRAME_PAYLOAD_MAX;
/** Pings in flight at once; the partner timeout needs one, a diagnostic a few. */
export const PINGS_IN_FLIGHT_MAX = 16;
const PING_PAYLOAD_BYTES = 8;
const CLOSE_REASON_BYTES_MAX = 1024;

/** The frame types a channel user may send; the others belong to the handshake or the channel. */
export type ChannelFrameType = "DATA";

/** A channel operation that cannot be done: closed channel, ignored backpressure, ping timeout. */
export class ChannelError extends Error {
  override readonly name = "ChannelError";
  constructor(message: string, readonly code: "closed" | "send_queue_full" | "ping_timeout" | "pings_in_flight",
    options?: ErrorOptions) {
    super(message, options);
  }
}

export interface ChannelInfo {
  readonly role: "initiator" | "acceptor";
  /** The login the accepting endpoint mapped the connecting certificate's owner to (both ends). */
  readonly peerLogin: string;
  /** The other endpoint's certificate, as named in this instance's master. */
  readonly peerCertificateName: string;
  readonly peerCertificateDer: Buffer;
  readonly encrypted: boolean;
  /** The ALGORITHM the endpoints negotiated (null when not encrypted). */
  readonly algorithm: EndpointAlgorithm | null;
  /** The TLS cipher suite actually protecting the bytes (null when not encrypted). */
  readonly cipher: string | null;
  /** host:port of the other end, IPv6 in brackets. */
  readonly remoteAddress: string;
}

interface PendingPing {
  readonly startedMs: number;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (roundTripMs: number) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Events: 'frame' (frame: Frame) for each DATA frame received; 'close' (error: Error | null)
 * once, null for an orderly CLOSE by either side.
 */
export class MirroringChannel extends EventEmitter {
  readonly role: "initiator" | "acceptor";
  readonly peerLogin: string;
  readonly peerCertificateName: string;
  readonly peerCertificateDer: Buffer;
  readonly encrypted: boolean;
  readonly algorithm: EndpointAlgorithm | null;
  readonly cipher: string | null;
  readonly remoteAddress: string;
  /** When the channel was set up (the handshake had just completed), for sys.dm_db_mirroring_connections. */
  readonly connectTime = new Date();
  /**
   * Traffic since connectTime, frame headers included (plaintext bytes, before TLS): each frame
   * is one socket write; `receives` counts the socket reads the frames arrived in.
   */
  readonly traffic = { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0, receives: 0,
    lastActivityMs: Date.now() };
  private closing = false;
  private finished = false;
  private failure: Error | null = null;
  private nextPingId = 0n;
  private readonly pings = new Map<bigint, PendingPing>();
  private drainWaiters: (() => void)[] = [];

  /**
   * Takes over `socket` and the handshake's decoder (any frames it already decoded are passed in
   * `pending` and delivered first, in order).
   */
  constructor(private readonly socket: Socket, info: ChannelInfo, private readonly decoder: FrameDecoder,
    pending: readonly Frame[] = []) {
    super();
    this.role = info.role;
    this.peerLogin = info.peerLogin;
    this.peerCertificateName = info.peerCertificateName;
    this.peerCertificateDer = info.peerCertificateDer;
    this.encrypted = info.encrypted;
    this.algorithm = info.algorithm;
    this.cipher = info.cipher;
    this.remoteAddress = info.remoteAddress;
    decoder.setPayloadMax(FRAME_PAYLOAD_MAX);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("drain", () => this.wakeSenders());
    socket.on("error", (error) => this.fail(error));
    socket.on("end", () => {
      if (!this.closing) this.failure ??= new Error(`${this.remoteAddress} ended the connection without CLOSE.`);
    });
    socket.on("close", () => this.finish());
    // Frames that arrived with the handshake's last frame wait for the next macrotask: the
    // caller receives the channel through a promise chain (microtasks) and attaches its 'frame'
    // listener there, exactly as for frames still to come from the socket.
    if (pending.length > 0) setImmediate(() => pending.forEach((frame) => this.handle(frame)));
    // Acknowledgements are small and latency is what SAFETY FULL waits on: no Nagle delay.
    socket.setNoDelay(true);
    socket.resume();
  }

  /** True once close() was called or the connection ended; send() then throws. */
  get closed(): boolean {
    return this.closing || this.finished;
  }

  /**
   * Queues one frame. Returns undefined when the caller may go on sending, or a promise to wait
   * for (it settles when the queue has drained or the channel closed). Throws ChannelError when
   * the channel is closed, or when the caller ignored earlier promises and the queue is full.
   */
  send(type: ChannelFrameType, payload: Buffer): Promise<void> | undefined {
    if (this.closed) throw new ChannelError("The mirroring channel is closed.", "closed", { cause: this.failure });
    const queued = this.socket.writableLength;
    if (queued + FRAME_HEADER_BYTES + payload.length > SEND_QUEUE_BYTES_MAX) {
      throw new ChannelError(`The send queue holds ${queued} bytes; wait for the promise send() returned.`,
        "send_queue_full");
    }
    this.write(encodeFrame(type, payload));
    if (this.socket.writableLength < SEND_BUFFER_BYTES_HIGH) return undefined;
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** Round trip of one PING, in milliseconds; rejects with ChannelError after timeoutMs or on close. */
  ping(timeoutMs: number): Promise<number> {
    assert(Number.isFinite(timeoutMs) && timeoutMs > 0, "ping timeout must be positive");
    if (this.closed) return Promise.reject(new ChannelError("The mirroring channel is closed.", "closed"));
    if (this.pings.size >= PINGS_IN_FLIGHT_MAX) {
      return Promise.reject(new ChannelError(`${PINGS_IN_FLIGHT_MAX} pings are already in flight.`, "pings_in_flight"));
    }
    const id = this.nextPingId++;
    const payload = Buffer.alloc(PING_PAYLOAD_BYTES);
    payload.writeBigUInt64BE(id, 0);
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(id);
        reject(new ChannelError(`No PONG from ${this.remoteAddress} within ${timeoutMs} ms.`, "ping_timeout"));
      }, timeoutMs);
      this.pings.set(id, { startedMs: performance.now(), timer, resolve, reject });
      this.write(encodeFrame("PING", payload));
    });
  }

  /** Orderly close: sends CLOSE (with an optional reason), then ends the connection. */
  close(reason = ""): void {
    if (this.closed) return;
    this.closing = true;
    const bytes = Buffer.from(reason, "utf8").subarray(0, CLOSE_REASON_BYTES_MAX);
    this.socket.end(encodeFrame("CLOSE", bytes));
    // A partner that never answers our FIN must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  /** Ends the connection at once, without CLOSE (the partner sees a reset or EOF). */
  destroy(error?: Error): void {
    if (error !== undefined) this.failure ??= error;
    this.closing = true;
    this.socket.destroy();
  }

  private write(frame: Buffer): void {
    this.traffic.bytesSent += frame.length;
    this.traffic.framesSent++;
    this.traffic.lastActivityMs = Date.now();
    this.socket.write(frame);
  }

  private receive(chunk: Buffer): void {
    this.traffic.bytesReceived += chunk.length;
    this.traffic.receives++;
    this.traffic.lastActivityMs = Date.now();
    const pushed = this.decoder.push(chunk);
    if (!pushed.ok) return this.fail(new Error(`Protocol error on the mirroring channel: ${pushed.error.reason}`));
    this.traffic.framesReceived += pushed.frames.length;
    for (const frame of pushed.frames) {
      if (this.finished) return;
      this.handle(frame);
    }
  }

  private handle(frame: Frame): void {
    switch (frame.type) {
      case "DATA":
        this.emit("frame", frame);
        return;
      case "PING":
        if (frame.payload.length !== PING_PAYLOAD_BYTES) return this.fail(new Error("PING payload is not 8 bytes"));
        if (!this.closed) this.write(encodeFrame("PONG", frame.payload));
        return;
      case "PONG":
        return this.pong(frame.payload);
      case "CLOSE":
        // The partner is done; answer with our FIN (no CLOSE back, it already knows).
        this.closing = true;
        this.socket.end();
        return;
      default:
        return this.fail(new Error(`Protocol error on the mirroring channel: unexpected ${frame.type} frame`));
    }
  }

  private pong(payload: Buffer): void {
    if (payload.length !== PING_PAYLOAD_BYTES) return this.fail(new Error("PONG payload is not 8 bytes"));
    const id = payload.readBigUInt64BE(0);
    const pending = this.pings.get(id);
    if (pending === undefined) return; // answer to a ping that already timed out
    this.pings.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(performance.now() - pending.startedMs);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.closing = true;
    this.socket.destroy();
  }

  private wakeSenders(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    waiters.forEach((wake) => wake());
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.wakeSenders();
    for (const pending of this.pings.values()) {
      clearTimeout(pending.timer);
      pending.reject(new ChannelError("The mirroring channel closed before the PONG.", "closed",
        { cause: this.failure }));
    }
    this.pings.clear();
    this.emit("close", this.failure);
  }
}

export interface MirroringChannel {
  on(event: "frame", listener: (frame: Frame) => void): this;
  on(event: "close", listener: (error: Error | null) => void): this;
  once(event: "frame", listener: (frame: Frame) => void): this;
  once(event: "close", listener: (error: Error | null) => void): this;
}
