// SQL login passwords: SQL Server's complexity policy and a slow salted hash (scrypt, run on
// libuv's thread pool so a login never stalls the event loop).
import * as crypto from "node:crypto";

const SCRYPT = { N: 16384, r: 8, p: 1, keyBytes: 32, saltBytes: 16 } as const;
const PASSWORD_CHARS_MAX = 128;

/**
 * SQL Server's policy (CHECK_POLICY on Linux): at least 8 characters, at most 128, not containing
 * the login name, and characters from three of: upper case, lower case, digits, symbols.
 * Returns what is wrong, or null.
 */
export function passwordPolicyProblem(password: string, loginName: string): string | null {
  if (password.length < 8) return "it must be at least 8 characters long";
  if (password.length > PASSWORD_CHARS_MAX) return `it must be at most ${PASSWORD_CHARS_MAX} characters long`;
  if (loginName.length >= 3 && password.toLowerCase().includes(loginName.toLowerCase())) {
    return `it must not contain the login name '${loginName}'`;
  }
  const sets = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((set) => set.test(password)).length;
  if (sets < 3) {
    return "it is not complex enough: it must contain characters from three of these four sets: "
      + "upper case letters, lower case letters, digits and symbols";
  }
  return null;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(SCRYPT.saltBytes);
  const key = await scrypt(password, salt);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Constant-time comparison; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [, n, r, p, saltText, keyText] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(keyText, "base64");
  const key = await scrypt(password, Buffer.from(saltText, "base64"),
    { N: Number(n), r: Number(r), p: Number(p) }, expected.length);
  return key.length === expected.length && crypto.timingSafeEqual(key, expected);
}

const VERIFIED_CACHE_ENTRIES_MAX = 1024;

/**
 * Password checks with a memory of recent successes: a connection pool that logs in again and
 * again pays scrypt (~60 ms of CPU here) once per login and password, not once per connection.
 * Entries are keyed by an HMAC under a per-process random key (never the password) and bound
 * to the stored hash, so ALTER LOGIN … PASSWORD invalidates them; failures are never cached,
 * so guessing stays slow.
 */
export class PasswordVerifier {
  private readonly key = crypto.randomBytes(32);
  private readonly verified = new Map<string, string>();

  async verify(loginName: string, password: string, stored: string): Promise<boolean> {
    const id = crypto.createHmac("sha256", this.key).update(`${loginName.toLowerCase()}\0${password}`).digest("base64");
    if (this.verified.get(id) === stored) return true;
    if (!await verifyPassword(password, stored)) return false;
    if (this.verified.size >= VERIFIED_CACHE_ENTRIES_MAX) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(id, stored);
    return true;
  }
}

function scrypt(password: string, salt: Buffer, cost: crypto.ScryptOptions = SCRYPT,
  keyBytes: number = SCRYPT.keyBytes): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    crypto.scrypt(password.normalize("NFC"), salt, keyBytes, cost, (error, key) => {
      if (error !== null) reject(error);
      else resolve(key);
    });
  });
}
