// Goal: the hand-written X.509 builder makes certificates that node:crypto (and OpenSSL) parse
// and verify, with exactly the subject, names, dates and serial number asked for; it is the
// base of the TLS server certificate now and of CREATE CERTIFICATE later.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import { buildSelfSignedCertificate, derToPem, pemToDer, type CertificateRequest } from "../src/security/x509.js";
import { tempDir } from "./support/temp.js";

const keys = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const otherKeys = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });

function request(overrides: Partial<CertificateRequest> = {}): CertificateRequest {
  return {
    subjectCommonName: "MLTEST",
    dnsNames: ["localhost", "db.example.test"],
    ipAddresses: ["127.0.0.1", "::1", "fd00::12:34"],
    notBefore: new Date("2024-03-01T10:20:30Z"),
    notAfter: new Date("2034-03-01T10:20:30Z"),
    serialNumber: 0x00c0ffeen,
    publicKey: keys.publicKey.export({ type: "spki", format: "der" }),
    sign: (tbs) => crypto.sign("sha256", tbs, keys.privateKey),
    ...overrides,
  };
}

test("x509: subject, SAN, dates and serial as given; verifies with its key only", () => {
  const pem = derToPem(buildSelfSignedCertificate(request()));
  const certificate = new crypto.X509Certificate(pem);
  assert.equal(certificate.subject, "CN=MLTEST");
  assert.equal(certificate.issuer, "CN=MLTEST");
  assert.equal(certificate.subjectAltName,
    "DNS:localhost, DNS:db.example.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:12:34");
  assert.equal(new Date(certificate.validFrom).toISOString(), "2024-03-01T10:20:30.000Z");
  assert.equal(new Date(certificate.validTo).toISOString(), "2034-03-01T10:20:30.000Z");
  assert.equal(certificate.serialNumber, "C0FFEE");
  assert.equal(certificate.verify(keys.publicKey), true);
  assert.equal(certificate.verify(otherKeys.publicKey), false);
  assert.equal(certificate.checkPrivateKey(keys.privateKey), true);
  assert.equal(certificate.checkHost("localhost"), "localhost");
  assert.equal(certificate.checkHost("db.example.test"), "db.example.test");
  assert.equal(certificate.checkHost("other.example.test"), undefined);
  assert.equal(certificate.checkIP("127.0.0.1"), "127.0.0.1");
  assert.equal(certificate.checkIP("::1"), "::1");
  assert.equal(certificate.checkIP("10.0.0.1"), undefined);
  assert.equal(certificate.ca, false);
  assert.deepEqual(certificate.keyUsage, ["1.3.6.1.5.5.7.3.1"]); // extKeyUsage serverAuth
  assert.equal(certificate.publicKey.export({ type: "spki", format: "pem" }),
    keys.publicKey.export({ type: "spki", format: "pem" }));
});

test("x509: dates from 2050 on are GeneralizedTime; serial numbers keep their sign", () => {
  const der = buildSelfSignedCertificate(request({
    notBefore: new Date("2049-12-31T23:59:59Z"), notAfter: new Date("2150-06-15T00:00:00Z"),
    serialNumber: Buffer.from([0x00, 0x00, 0x80, 0x01]),
  }));
  const late = new crypto.X509Certificate(der);
  assert.equal(new Date(late.validFrom).toISOString(), "2049-12-31T23:59:59.000Z");
  assert.equal(new Date(late.validTo).toISOString(), "2150-06-15T00:00:00.000Z");
  assert.ok(der.includes(Buffer.from("491231235959Z", "ascii")), "UTCTime through 2049");
  assert.ok(der.includes(Buffer.from("21500615000000Z", "ascii")), "GeneralizedTime from 2050");
  assert.equal(late.serialNumber, "8001");
  assert.ok(der.includes(Buffer.from([0x02, 0x03, 0x00, 0x80, 0x01])),
    "leading zeros dropped, a 0x00 prefix keeps the high bit positive");
  const twenty = crypto.randomBytes(20);
  twenty[0] = 0x7f;
  assert.equal(new crypto.X509Certificate(buildSelfSignedCertificate(request({ serialNumber: twenty }))).serialNumber,
    twenty.toString("hex").toUpperCase());
});

test("x509: without names there is no SAN (a CREATE CERTIFICATE style certificate)", () => {
  const certificate = new crypto.X509Certificate(buildSelfSignedCertificate(request({
    subjectCommonName: "Backup encryption certificate", dnsNames: [], ipAddresses: [],
  })));
  assert.equal(certificate.subject, "CN=Backup encryption certificate");
  assert.equal(certificate.subjectAltName, undefined);
  assert.equal(certificate.keyUsage, undefined);
  assert.equal(certificate.verify(keys.publicKey), true);
});

test("x509: bad requests are RangeErrors, not crashes", () => {
  assert.throws(() => buildSelfSignedCertificate(request({ notBefore: new Date("2030-01-01Z"), notAfter: new Date("2029-01-01Z") })), RangeError);
  assert.throws(() => buildSelfSignedCertificate(request({ serialNumber: 0n })), RangeError);
  assert.throws(() => buildSelfSignedCertificate(request({ serialNumber: Buffer.alloc(21, 1) })), RangeError);
  assert.throws(() => buildSelfSignedCertificate(request({ subjectCommonName: "" })), RangeError);
  assert.throws(() => buildSelfSignedCertificate(request({ ipAddresses: ["not-an-ip"] })), RangeError);
  assert.throws(() => buildSelfSignedCertificate(request({ publicKey: Buffer.from([1, 2, 3]) })), RangeError);
});

test("x509: PEM round trip; OpenSSL parses and verifies; Node serves TLS with it", async () => {
  const der = buildSelfSignedCertificate(request({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) }));
  const pem = derToPem(der);
  assert.match(pem, /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
  assert.deepEqual(pemToDer(pem), der);
  assert.equal(pemToDer("no pem here"), null);

  const temp = tempDir("x509");
  try {
    const file = path.join(temp.dir, "cert.pem");
    fs.writeFileSync(file, pem);
    const text = spawnSync("openssl", ["x509", "-in", file, "-noout", "-text"], { encoding: "utf8" });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(text.stdout, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text.stdout, /Digital Signature, Key Encipherment/);
    const verify = spawnSync("openssl", ["verify", "-CAfile", file, file], { encoding: "utf8" });
    assert.equal(verify.status, 0, verify.stderr);
  } finally {
    temp.remove();
  }

  const keyPem = keys.privateKey.export({ type: "pkcs8", format: "pem" });
  const server = tls.createServer({ cert: pem, key: keyPem }, (socket) => socket.end("hello"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as { port: number };
    for (const servername of ["localhost", undefined]) {
      const reply = await new Promise<string>((resolve, reject) => {
        const client = tls.connect({ port, host: "127.0.0.1", ca: pem, ...(servername ? { servername } : {}) });
        let text = "";
        client.on("data", (chunk: Buffer) => { text += chunk.toString(); });
        client.on("end", () => resolve(text));
        client.on("error", reject);
      });
      assert.equal(reply, "hello", `trusted as its own CA (host ${servername ?? "127.0.0.1"})`);
    }
  } finally {
    server.close();
  }
});
