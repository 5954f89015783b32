// Hand-built TDS packets for bad-input tests: a PRELOGIN and a LOGIN7 as clients send them.
import * as net from "node:net";
import { buildLogin7, buildSqlBatch } from "../../src/tds/client_messages.js";

export function packet(type: number, payload: Buffer, status = 0x01, lengthOverride?: number): Buffer {
  const header = Buffer.alloc(8);
  header[0] = type;
  header[1] = status;
  header.writeUInt16BE(lengthOverride ?? payload.length + 8, 2);
  header[6] = 1;
  return Buffer.concat([header, payload]);
}

export function prelogin(): Buffer {
  // VERSION (6 bytes) and ENCRYPTION = NOT_SUP, then the terminator.
  const table = Buffer.from([0x00, 0, 11, 0, 6, 0x01, 0, 17, 0, 1, 0xff]);
  return packet(0x12, Buffer.concat([table, Buffer.from([1, 0, 0, 0, 0, 0]), Buffer.from([2])]));
}

export function login7(user: string, password: string, database = ""): Buffer {
  return packet(0x10, buildLogin7({ userName: user, password, database }));
}

export function sqlBatch(sql: string): Buffer {
  return packet(0x01, buildSqlBatch(sql));
}

/** Opens a socket and resolves when it connected. */
export function rawSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Resolves true when the server closes the socket within ms, false otherwise. */
export function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    socket.on("error", () => undefined);
    socket.once("close", () => { clearTimeout(timer); resolve(true); });
    socket.resume();
  });
}

/** Collects what the server sends until `predicate` holds for the bytes so far. */
export function readUntil(socket: net.Socket, predicate: (bytes: Buffer) => boolean, ms = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let bytes = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error(`timed out; got ${bytes.toString("hex")}`)), ms);
    const onData = (chunk: Buffer): void => {
      bytes = Buffer.concat([bytes, chunk]);
      if (predicate(bytes)) {
        clearTimeout(timer);
        socket.off("data", onData);
        resolve(bytes);
      }
    };
    socket.on("data", onData);
  });
}
