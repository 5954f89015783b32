// SQL Server's password policy, the salted slow hash, and the verified-login memory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hashPassword, passwordPolicyProblem, PasswordVerifier, verifyPassword } from "../src/security/password.js";

test("password policy: length, three of four character sets, not the login name", () => {
  assert.match(passwordPolicyProblem("Ab1!", "sa")!, /at least 8/);
  assert.match(passwordPolicyProblem("abcdefgh1", "sa")!, /not complex enough/);
  assert.match(passwordPolicyProblem("Str0ng!Admin", "admin")!, /login name/);
  assert.match(passwordPolicyProblem("x".repeat(129), "sa")!, /at most 128/);
  for (const good of ["Str0ngPassw0rd", "str0ng!passw0rd", "STRONG!PASSWORD1", "Mirr0r!lite"]) {
    assert.equal(passwordPolicyProblem(good, "sa"), null, good);
  }
});

test("hashes are salted and verify only the right password", async () => {
  const a = await hashPassword("Str0ng!Passw0rd");
  const b = await hashPassword("Str0ng!Passw0rd");
  assert.notEqual(a, b, "salted");
  assert.equal(await verifyPassword("Str0ng!Passw0rd", a), true);
  assert.equal(await verifyPassword("Str0ng!Passw0rD", a), false);
  assert.equal(await verifyPassword("Str0ng!Passw0rd", "scrypt$garbage"), false);
});

test("the verifier remembers successes per stored hash, never failures", async () => {
  const verifier = new PasswordVerifier();
  const stored = await hashPassword("Str0ng!Passw0rd");
  assert.equal(await verifier.verify("sa", "Str0ng!Passw0rd", stored), true);
  assert.equal(await verifier.verify("SA", "Str0ng!Passw0rd", stored), true, "login names compare case-insensitively");
  assert.equal(await verifier.verify("sa", "wrong-Passw0rd", stored), false);
  const changed = await hashPassword("0ther!Passw0rd");
  assert.equal(await verifier.verify("sa", "Str0ng!Passw0rd", changed), false, "a new stored hash forgets the old password");
});
