// The client-side LOGIN7 and SQL batch builders round-trip through the server's parsers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildLogin7, buildSqlBatch } from "../src/tds/client_messages.js";
import { parseLogin7 } from "../src/tds/login7.js";
import { parseSqlBatch } from "../src/tds/requests.js";

test("buildLogin7 round-trips through parseLogin7, password scrambled", () => {
  const payload = buildLogin7({ userName: "sa", password: "Pä$$w0rd!", database: "shop", packetSize: 8192 });
  assert.equal(payload.includes(Buffer.from("Pä$$w0rd!", "utf16le")), false, "the password is not sent in clear");
  const login = parseLogin7(payload);
  assert.deepEqual([login.userName, login.password, login.database, login.packetSize, login.tdsVersion],
    ["sa", "Pä$$w0rd!", "shop", 8192, 0x74000004]);
});

test("buildSqlBatch round-trips through parseSqlBatch", () => {
  const descriptor = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const batch = parseSqlBatch(buildSqlBatch("SELECT N'ü'", descriptor));
  assert.equal(batch.sql, "SELECT N'ü'");
  assert.deepEqual(batch.transactionDescriptor, descriptor);
});
