// Goal: clients that encrypt by default connect to a real `mirrorlite start` process: tedious and
// mssql over TDS 7.x TLS (handshake inside PRELOGIN packets), tedious strict (TDS 8.0), FreeTDS
// tsql with full, login-only and no encryption; certificates generated or configured;
// --force-encryption; a broken handshake costs only its own connection. A recording proxy shows
// what actually crossed the wire.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import { once } from "node:events";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import mssql from "mssql";
import { createTlsSettings, TdsSocket } from "../src/server/tds_socket.js";
import { parsePrelogin } from "../src/tds/prelogin.js";
import { close, connect, MAIN, query, SA_PASSWORD, startServer, type Server } from "./support/server.js";
import { closedWithin, login7, packet, rawSocket, readUntil } from "./support/tds_raw.js";
import { tempDir } from "./support/temp.js";

const temp = tempDir("tls");
const dataDir = path.join(temp.dir, "data");
let server: Server;
let ca: Buffer;

before(async () => {
  server = await startServer(dataDir);
  ca = fs.readFileSync(path.join(dataDir, "tls-certificate.pem"));
});
after(async () => {
  const code = await server.stop();
  temp.remove();
  assert.equal(code, 0, "SIGTERM shuts the instance down cleanly");
});

const ENCRYPTION = { OFF: 0, ON: 1, NOT_SUP: 2, REQ: 3 } as const;
const TRUST = { encrypt: true, trustServerCertificate: true, serverName: "localhost" } as const;

test("generated certificate: self-signed RSA-2048 for the server name, localhost and 127.0.0.1; key 0600", () => {
  const certificate = new crypto.X509Certificate(ca);
  assert.equal(certificate.subject, "CN=MLTEST");
  assert.equal(certificate.verify(certificate.publicKey), true, "self-signed");
  assert.equal(certificate.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.equal(certificate.checkHost("localhost"), "localhost");
  assert.equal(certificate.checkIP("127.0.0.1"), "127.0.0.1");
  if (/^[a-z0-9.-]+$/i.test(os.hostname())) assert.ok(certificate.checkHost(os.hostname()));
  assert.ok(Date.parse(certificate.validFrom) <= Date.now() && Date.parse(certificate.validTo) > Date.now() + 300 * 86_400_000);
  const keyFile = path.join(dataDir, "tls-private-key.pem");
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
  assert.equal(certificate.checkPrivateKey(crypto.createPrivateKey(fs.readFileSync(keyFile))), true);
  assert.match(server.output(), new RegExp(`tls certificate .* \\(self-signed, SHA-256 ${certificate.fingerprint256}`));
});

test("tedious encrypt:true: the handshake inside PRELOGIN messages, then everything inside TLS", async () => {
  const proxy = await recordingProxy(server.port);
  try {
    const c = await connect(proxy.port, undefined, SA_PASSWORD, TRUST);
    const many = await query(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT i, 'row ' || i AS label FROM n");
    assert.equal(many.rows[0]!.length, 20_000, "a multi-packet response through TLS, with backpressure");
    assert.deepEqual(many.rows[0]![19_999], { i: 20_000, label: "row 20000" });
    const big = await query(c, `SELECT N'${"ü".repeat(50_000)}' AS big, N'secret text' AS marker`);
    assert.equal(big.rows[0]![0]!.big, "ü".repeat(50_000));
    await close(c);
    const { up, down } = proxy.session(0);
    assert.equal(up[0]?.type, 0x12, "PRELOGIN first");
    assert.ok(up.every((unit) => unit.kind === "tls" || unit.type === 0x12), "no plaintext TDS after PRELOGIN");
    assert.ok(!proxy.bytes(0).up.includes(Buffer.from("SELECT", "utf16le")), "the SQL is not readable on the wire");
    assert.ok(!proxy.bytes(0).down.includes(Buffer.from("secret text", "utf16le")), "the rows are not readable on the wire");
    assert.equal(down[0]?.type, 0x04, "the PRELOGIN reply in plaintext");
    const flights = down.filter((unit) => unit.kind === "tds" && unit.type === 0x12 && unit.eom).length;
    assert.equal(flights, 2, "one PRELOGIN message per TLS 1.2 server flight (ServerHello…Done, Finished)");
    assert.ok(down.slice(down.findIndex((unit) => unit.kind === "tls")).every((unit) => unit.kind === "tls"));
  } finally {
    await proxy.close();
  }
  await assert.rejects(connect(server.port, undefined, "Wrong-passw0rd", TRUST),
    (error: Error & { code?: string }) => error.code === "ELOGIN" && /Login failed for user 'sa'/.test(error.message));
});

test("tedious verifies the certificate with it as CA, by IP and by host name; a wrong CA fails", async () => {
  for (const serverName of [undefined, "localhost"]) {
    const c = await connect(server.port, undefined, SA_PASSWORD,
      { encrypt: true, cryptoCredentialsDetails: { ca }, ...(serverName === undefined ? {} : { serverName }) });
    const row = await query(c, "SELECT @@SERVERNAME AS name");
    assert.equal(row.rows[0]![0]!.name, "MLTEST");
    await close(c);
  }
  const stranger = makeCertificate("stranger");
  await assert.rejects(connect(server.port, undefined, SA_PASSWORD,
    { encrypt: true, cryptoCredentialsDetails: { ca: stranger.cert }, serverName: "localhost" }),
  (error: Error) => /self.signed|unable to verify|certificate/i.test(error.message));
});

test("mssql@12 with its default encrypt:true (and trustServerCertificate) connects and queries", async () => {
  const pool = await new mssql.ConnectionPool({
    server: "127.0.0.1", port: server.port, user: "sa", password: SA_PASSWORD,
    options: { trustServerCertificate: true },
  }).connect();
  try {
    const result = await pool.request().input("n", mssql.Int, 41).query("SELECT @n + 1 AS answer");
    assert.deepEqual(result.recordset, [{ answer: 42 }]);
  } finally {
    await pool.close();
  }
});

test("TDS 8.0 strict: TLS from the first byte, ALPN tds/8.0, TLS 1.3; tedious encrypt:'strict' works", async () => {
  const socket = tls.connect({ port: server.port, host: "127.0.0.1", servername: "localhost", ca,
    ALPNProtocols: ["tds/8.0"] });
  await once(socket, "secureConnect");
  assert.equal(socket.authorized, true);
  assert.equal(socket.alpnProtocol, "tds/8.0");
  assert.equal(socket.getProtocol(), "TLSv1.3");
  assert.equal(socket.getPeerX509Certificate()?.fingerprint256, new crypto.X509Certificate(ca).fingerprint256);
  socket.write(preloginWith(ENCRYPTION.ON));
  assert.equal(preloginReplyEncryption(await readUntil(socket, wholePacket)), ENCRYPTION.NOT_SUP,
    "inside TLS the ENCRYPTION option is moot");
  socket.destroy();

  const proxy = await recordingProxy(server.port);
  try {
    const c = await connect(proxy.port, undefined, SA_PASSWORD,
      { encrypt: "strict", cryptoCredentialsDetails: { ca }, serverName: "localhost" });
    assert.equal((await query(c, "SELECT 8 AS tds")).rows[0]![0]!.tds, 8);
    await close(c);
    assert.ok(proxy.session(0).up.every((unit) => unit.kind === "tls"), "not one plaintext TDS packet");
    assert.equal(proxy.session(0).up[0]?.type, 0x16);
  } finally {
    await proxy.close();
  }
});

test("FreeTDS tsql: encryption = require (full), request (login only), off (none)", async () => {
  const proxy = await recordingProxy(server.port);
  try {
    const expectations = [
      { encryption: "require", loginEncrypted: true, sqlEncrypted: true },
      { encryption: "request", loginEncrypted: true, sqlEncrypted: false },
      { encryption: "off", loginEncrypted: false, sqlEncrypted: false },
    ];
    for (const [index, expected] of expectations.entries()) {
      const run = await tsql(proxy.port, expected.encryption, "SELECT 40 + 2 AS answer, N'zwölf' AS word\ngo\n");
      assert.equal(run.status, 0, `${expected.encryption}: ${run.stderr}`);
      assert.deepEqual(run.stdout.split("\n").filter((line) => line !== ""), ["42\tzwölf"]);
      const { up } = proxy.session(index);
      const plainTypes = up.filter((unit) => unit.kind === "tds").map((unit) => unit.type);
      assert.equal(plainTypes.includes(0x10), !expected.loginEncrypted, `${expected.encryption}: LOGIN7 in plaintext?`);
      assert.equal(plainTypes.includes(0x01), !expected.sqlEncrypted, `${expected.encryption}: SQL batch in plaintext?`);
      assert.equal(proxy.bytes(index).up.includes(Buffer.from("SELECT 40", "utf16le")), !expected.sqlEncrypted);
      assert.equal(up.some((unit) => unit.kind === "tls"), expected.loginEncrypted);
    }
  } finally {
    await proxy.close();
  }
});

test("a garbage or truncated TLS handshake closes only that connection", async () => {
  const survivor = await connect(server.port, undefined, SA_PASSWORD, TRUST);
  const attempts: { name: string; run: (socket: net.Socket) => Promise<void> }[] = [
    { name: "strict, garbage record", run: async (s) => { s.write(Buffer.from([0x16, 3, 1, 0, 6, 1, 0xde, 0xad, 0xbe, 0xef, 0])); } },
    { name: "strict, truncated ClientHello then FIN", run: async (s) => { s.end(Buffer.from([0x16, 3, 1, 2, 0, 1, 0, 1, 0xfc, 3, 3])); } },
    { name: "wrapped, garbage record", run: async (s) => {
      await negotiate(s, ENCRYPTION.ON, ENCRYPTION.ON);
      s.write(packet(0x12, Buffer.from([0x16, 3, 1, 0, 4, 0xde, 0xad, 0xbe, 0xef])));
    } },
    { name: "wrapped, truncated packet then FIN", run: async (s) => {
      await negotiate(s, ENCRYPTION.ON, ENCRYPTION.ON);
      s.end(packet(0x12, Buffer.from([0x16, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3]), 0x01, 200));
    } },
    { name: "wrapped, SQL batch in the middle of the handshake", run: async (s) => {
      await negotiate(s, ENCRYPTION.REQ, ENCRYPTION.ON);
      s.write(Buffer.concat([packet(0x12, Buffer.from([0x16, 3, 1, 0, 200, 1, 0, 0, 196]), 0x00),
        packet(0x01, Buffer.from("select 1", "utf16le"))]));
    } },
  ];
  for (const attempt of attempts) {
    const socket = await rawSocket(server.port);
    await attempt.run(socket);
    assert.equal(await closedWithin(socket, 5_000), true, attempt.name);
  }
  assert.equal((await query(survivor, "SELECT 1 AS still")).rows[0]![0]!.still, 1);
  await close(survivor);
  const fresh = await connect(server.port, undefined, SA_PASSWORD, TRUST);
  await close(fresh);
  assert.match(server.output(), /closed: (tls: |protocol violation: packet type 0x1 during the TLS handshake)/);
});

test("TdsSocket: write() backpressure, drained() and pause() work alike in plaintext and in TLS", async () => {
  const settings = createTlsSettings(ca.toString(), fs.readFileSync(path.join(dataDir, "tls-private-key.pem"), "utf8"), false);
  for (const strict of [false, true]) {
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const port = (listener.address() as net.AddressInfo).port;
    const accepted = once(listener, "connection") as Promise<[net.Socket]>;
    const client: net.Socket = strict
      ? tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca, ALPNProtocols: ["tds/8.0"] })
      : net.connect(port, "127.0.0.1");
    const [raw] = await accepted;
    try {
      const received: Buffer[] = [];
      const socket = new TdsSocket(raw, settings, { data: (chunk) => received.push(chunk), close: () => undefined });
      if (strict) await once(client, "secureConnect");
      else client.write(Buffer.from([0x12])); // decides "not strict" on the server side
      await until(() => strict || received.length > 0);
      assert.equal(socket.encryption, strict ? "strict" : "none");

      // The client reads nothing: a writer that honours write()/drained() must come to a stop
      // after a bounded amount (the kernel's buffers), instead of buffering without end.
      client.pause();
      const block = Buffer.alloc(64 * 1024, 0x41);
      let written = 0;
      for (let stalled = false; !stalled; written += block.length) {
        assert.ok(written < 64 * 1024 * 1024, `${strict ? "TLS" : "plain"}: the output never filled up`);
        if (!socket.write(block)) {
          stalled = await Promise.race([socket.drained().then(() => false), delay(300).then(() => true)]);
        }
      }
      // (No timed check that drained() waits: on a loaded machine the kernel may still be
      // taking bytes. The bounded loop above is the proof that write() pushes back.)
      const waiting = socket.drained();
      client.on("data", () => undefined);
      client.resume();
      await waiting;

      received.length = 0;
      socket.pause();
      client.write(Buffer.from("while paused"));
      await delay(300);
      assert.equal(received.length, 0, "pause() holds client bytes back");
      socket.resume();
      await until(() => Buffer.concat(received).toString() === "while paused");
    } finally {
      client.destroy();
      raw.destroy();
      listener.close();
    }
  }
});

test("the generated certificate is kept across restarts", async () => {
  const dir = path.join(temp.dir, "restart");
  const first = await startServer(dir);
  const fingerprint = new crypto.X509Certificate(fs.readFileSync(path.join(dir, "tls-certificate.pem"))).fingerprint256;
  assert.equal(await first.stop(), 0);
  const second = await startServer(dir);
  try {
    assert.equal(await servedFingerprint(second.port), fingerprint);
    assert.match(second.output(), new RegExp(`SHA-256 ${fingerprint}`));
  } finally {
    assert.equal(await second.stop(), 0);
  }
});

test("--tls-cert/--tls-key serve the given certificate; --force-encryption refuses unencrypted clients", async () => {
  const given = makeCertificate("db.test");
  const forced = await startServer(path.join(temp.dir, "forced"), {},
    ["--tls-cert", given.certFile, "--tls-key", given.keyFile, "--force-encryption"]);
  try {
    assert.match(forced.output(), /\(configured, SHA-256 .*, encryption forced/);
    assert.equal(await servedFingerprint(forced.port), new crypto.X509Certificate(given.cert).fingerprint256);
    const c = await connect(forced.port, undefined, SA_PASSWORD,
      { encrypt: true, cryptoCredentialsDetails: { ca: given.caCert }, serverName: "db.test" });
    assert.equal((await query(c, "SELECT 'chain' AS ok")).rows[0]![0]!.ok, "chain");
    await close(c);

    await assert.rejects(connect(forced.port), (error: Error & { code?: string }) =>
      error.code === "EENCRYPT" && /Server requires encryption/.test(error.message));
    // A client that ignores the REQ answer and logs in anyway gets 17835 in plaintext, then EOF.
    for (const withPrelogin of [true, false]) {
      const socket = await rawSocket(forced.port);
      if (withPrelogin) await negotiate(socket, ENCRYPTION.NOT_SUP, ENCRYPTION.REQ);
      socket.write(login7("sa", SA_PASSWORD));
      const reply = await readUntil(socket, (bytes) => bytes.includes(Buffer.from("client library", "utf16le")));
      assert.ok(reply.includes(Buffer.from([0xaa])) && reply.includes(Buffer.from([0xab, 0x45, 0, 0])), "ERROR 17835");
      assert.equal(await closedWithin(socket, 5_000), true);
    }
    const off = await tsql(forced.port, "off", "SELECT 7 AS n\ngo\n");
    assert.equal(off.status, 0, off.stderr);
    assert.equal(off.stdout.trim(), "7", "FreeTDS follows the REQ answer and encrypts");
  } finally {
    assert.equal(await forced.stop(), 0);
  }
});

test("start refuses half or mismatched TLS configuration", () => {
  const a = makeCertificate("a.test");
  const start = (dir: string, extra: string[]) => spawnSync(process.execPath,
    [MAIN, "start", "--data", path.join(temp.dir, dir), "--port", "0", "--listen", "127.0.0.1", ...extra],
    { encoding: "utf8", env: { ...process.env, MSSQL_SA_PASSWORD: SA_PASSWORD }, timeout: 30_000 });
  const half = start("half", ["--tls-cert", a.certFile]);
  assert.equal(half.status, 1);
  assert.match(half.stderr, /--tls-cert FILE and --tls-key FILE go together/);
  const mismatched = start("mismatched", ["--tls-cert", a.certFile, "--tls-key", a.caKeyFile]);
  assert.equal(mismatched.status, 1);
  assert.match(mismatched.stderr, /does not belong to certificate/);
  assert.equal(fs.existsSync(path.join(temp.dir, "mismatched")), false, "checked before the data directory is made");
  const missing = start("missing", ["--tls-cert", path.join(temp.dir, "nope.pem"), "--tls-key", a.keyFile]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot use TLS certificate .*nope\.pem/);
});

// ---- helpers ----

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  for (const start = Date.now(); !condition(); await delay(10)) {
    if (Date.now() - start > ms) throw new Error("condition not met in time");
  }
}

/** A CA and a leaf for `host` (SAN DNS:host, IP:127.0.0.1), made with the openssl CLI. */
function makeCertificate(host: string): { cert: Buffer; certFile: string; keyFile: string; caCert: Buffer; caKeyFile: string } {
  const dir = fs.mkdtempSync(path.join(temp.dir, `cert-${host}-`));
  const file = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => {
    const run = spawnSync("openssl", args, { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
  };
  fs.writeFileSync(file("ext.cnf"), `subjectAltName=DNS:${host},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("ca.key"), "-out", file("ca.pem"),
    "-days", "2", "-subj", `/CN=${host} test CA`);
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", file("leaf.key"), "-out", file("leaf.csr"),
    "-subj", `/CN=${host}`);
  openssl("x509", "-req", "-in", file("leaf.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"),
    "-CAcreateserial", "-out", file("leaf.pem"), "-days", "2", "-extfile", file("ext.cnf"));
  return { cert: fs.readFileSync(file("leaf.pem")), certFile: file("leaf.pem"), keyFile: file("leaf.key"),
    caCert: fs.readFileSync(file("ca.pem")), caKeyFile: file("ca.key") };
}

/** The certificate a TDS 8.0 handshake presents (not verified: only looked at). */
async function servedFingerprint(port: number): Promise<string | undefined> {
  const socket = tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false, ALPNProtocols: ["tds/8.0"] });
  await once(socket, "secureConnect");
  const fingerprint = socket.getPeerX509Certificate()?.fingerprint256;
  socket.destroy();
  return fingerprint;
}

/** FreeTDS tsql with a private freetds.conf; asynchronous, so an in-process proxy keeps running. */
async function tsql(port: number, encryption: string, input: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const conf = path.join(temp.dir, `freetds-${encryption}.conf`);
  fs.writeFileSync(conf, `[mirrorlite]\n\thost = 127.0.0.1\n\tport = ${port}\n\ttds version = 7.4\n`
    + `\tencryption = ${encryption}\n`);
  const child = spawn("tsql", ["-S", "mirrorlite", "-U", "sa", "-P", SA_PASSWORD, "-o", "fhq"], {
    env: { ...process.env, FREETDSCONF: conf, LANG: "C.UTF-8" }, timeout: 30_000,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
  child.stdin.end(input);
  const [status] = await once(child, "close") as [number | null];
  return { status, stdout, stderr };
}

function preloginWith(encryption: number): Buffer {
  // VERSION (6 bytes) and ENCRYPTION, then the terminator.
  const table = Buffer.from([0x00, 0, 11, 0, 6, 0x01, 0, 17, 0, 1, 0xff]);
  return packet(0x12, Buffer.concat([table, Buffer.from([1, 0, 0, 0, 0, 0]), Buffer.from([encryption])]));
}

function wholePacket(bytes: Buffer): boolean {
  return bytes.length >= 8 && bytes.length >= bytes.readUInt16BE(2);
}

function preloginReplyEncryption(bytes: Buffer): number | null {
  return parsePrelogin(bytes.subarray(8, bytes.readUInt16BE(2))).encryption;
}

/** Sends a PRELOGIN with `client` and checks the server's ENCRYPTION answer. */
async function negotiate(socket: net.Socket, client: number, expected: number): Promise<void> {
  socket.write(preloginWith(client));
  assert.equal(preloginReplyEncryption(await readUntil(socket, wholePacket)), expected);
}

/** One unit on the wire: a TDS packet (type, EOM) or a raw TLS record (content type). */
interface WireUnit { readonly kind: "tds" | "tls"; readonly type: number; readonly eom: boolean }

/** Splits a recorded byte stream into TDS packets and TLS records (they never share first bytes). */
function wireUnits(bytes: Buffer): WireUnit[] {
  const units: WireUnit[] = [];
  for (let at = 0; at + 5 <= bytes.length;) {
    const type = bytes[at]!;
    if (type >= 0x14 && type <= 0x17) {
      units.push({ kind: "tls", type, eom: false });
      at += 5 + bytes.readUInt16BE(at + 3);
    } else {
      const length = bytes.readUInt16BE(at + 2);
      if (length < 8) break;
      units.push({ kind: "tds", type, eom: (bytes[at + 1]! & 0x01) !== 0 });
      at += length;
    }
  }
  return units;
}

interface Recorded { up: Buffer[]; down: Buffer[] }

/** A TCP proxy in front of the server that records both directions of every connection. */
async function recordingProxy(targetPort: number) {
  const sessions: Recorded[] = [];
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const session: Recorded = { up: [], down: [] };
    sessions.push(session);
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => { client.destroy(); upstream.destroy(); sockets.delete(socket); });
    }
    client.on("data", (chunk: Buffer) => { session.up.push(chunk); upstream.write(chunk); });
    upstream.on("data", (chunk: Buffer) => { session.down.push(chunk); client.write(chunk); });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const bytes = (index: number): { up: Buffer; down: Buffer } => {
    const session = sessions[index];
    assert.ok(session !== undefined, `no connection ${index} through the proxy`);
    return { up: Buffer.concat(session.up), down: Buffer.concat(session.down) };
  };
  return {
    port: (proxy.address() as net.AddressInfo).port,
    bytes,
    session: (index: number) => {
      const { up, down } = bytes(index);
      return { up: wireUnits(up), down: wireUnits(down) };
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
