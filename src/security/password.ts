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

/**
 * SQL Server 2012+ password hashes, as `LOGINPROPERTY(name, 'PasswordHash')` and sp_help_revlogin
 * show them: 0x0200, a 4-byte salt, then SHA-512 over the UTF-16LE password and the salt. Taken
 * by CREATE LOGIN … PASSWORD = 0x… HASHED, so logins move from SQL Server with their passwords.
 */
export function sqlServerHashForm(hash: Buffer): string | null {
  if (hash.length !== 70 || hash.readUInt16BE(0) !== 0x0200) return null;
  return `mssql2012$${hash.toString("hex")}`;
}

function verifySqlServerHash(password: string, stored: string): boolean {
  const hash = Buffer.from(stored.slice("mssql2012$".length), "hex");
  if (hash.length !== 70) return false;
  const salt = hash.subarray(2, 6);
  const digest = crypto.createHash("sha512").update(Buffer.from(password, "utf16le")).update(salt).digest();
  return crypto.timingSafeEqual(digest, hash.subarray(6));
}

/** Constant-time comparison; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (stored.startsWith("mssql2012$")) return verifySqlServerHash(password, stored);
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
