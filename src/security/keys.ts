// The key hierarchy SQL Server uses for certificates: a service master key (SMK) per instance,
// a database master key (DMK) created by CREATE MASTER KEY and stored encrypted twice (by its
// password and by the SMK, so it opens without the password), and certificate private keys
// stored encrypted by the DMK (or by a password). Nothing here writes a private key in clear:
// every secret at rest is AES-256-GCM ciphertext.
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback, type KeyObject,
  createPrivateKey } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;
const SMK_FILE = "service-master-key";

/** "gcm$iv$tag$ciphertext", base64 parts: authenticated, so a wrong key is detected. */
export function seal(key: Buffer, plaintext: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return ["gcm", iv.toString("base64"), cipher.getAuthTag().toString("base64"), body.toString("base64")].join("$");
}

/** The plaintext, or null when the key is wrong or the data damaged. */
export function unseal(key: Buffer, sealed: string): Buffer | null {
  const parts = sealed.split("$");
  if (parts.length !== 4 || parts[0] !== "gcm") return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(parts[1]!, "base64"));
    decipher.setAuthTag(Buffer.from(parts[2]!, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(parts[3]!, "base64")), decipher.final()]);
  } catch {
    return null;
  }
}

/** A key derived from a password: "salt$sealed" so the salt travels with the ciphertext. */
export async function sealWithPassword(password: string, plaintext: Buffer): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32);
  return `${salt.toString("base64")}$${seal(key, plaintext)}`;
}

export async function unsealWithPassword(password: string, sealed: string): Promise<Buffer | null> {
  const at = sealed.indexOf("$");
  if (at < 0) return null;
  const key = await scrypt(password, Buffer.from(sealed.slice(0, at), "base64"), 32);
  return unseal(key, sealed.slice(at + 1));
}

/** The instance's service master key, made at first use (file mode 0600 in the data directory). */
export function serviceMasterKey(dataDir: string): Buffer {
  const file = path.join(dataDir, SMK_FILE);
  if (fs.existsSync(file)) {
    const key = fs.readFileSync(file);
    if (key.length !== 32) throw new Error(`${file} is not a 32-byte key`);
    return key;
  }
  const key = randomBytes(32);
  const temp = `${file}.tmp`;
  fs.writeFileSync(temp, key, { mode: 0o600 });
  fs.renameSync(temp, file);
  return key;
}

/** What CREATE MASTER KEY stores: the DMK sealed by its password and by the SMK. */
export interface MasterKeyEntry {
  readonly byPassword: string;
  readonly byServiceKey: string;
  readonly createDate: string;
}

export async function createMasterKey(password: string, smk: Buffer, now: Date): Promise<MasterKeyEntry> {
  const dmk = randomBytes(32);
  return { byPassword: await sealWithPassword(password, dmk), byServiceKey: seal(smk, dmk),
    createDate: now.toISOString() };
}

/** Opens the DMK with the service master key (automatic, as SQL Server does). */
export function openMasterKey(entry: MasterKeyEntry, smk: Buffer): Buffer {
  const dmk = unseal(smk, entry.byServiceKey);
  if (dmk === null) throw new Error("the database master key cannot be opened with the service master key");
  return dmk;
}

/** A private key as stored: PKCS#8 DER sealed by the DMK ("MK") or by a password ("PW"). */
export interface SealedPrivateKey {
  readonly encryptionType: "MK" | "PW";
  readonly sealed: string;
}

export function sealPrivateKey(key: KeyObject, dmk: Buffer): SealedPrivateKey {
  return { encryptionType: "MK", sealed: seal(dmk, key.export({ type: "pkcs8", format: "der" })) };
}

export async function sealPrivateKeyWithPassword(key: KeyObject, password: string): Promise<SealedPrivateKey> {
  return { encryptionType: "PW", sealed: await sealWithPassword(password, key.export({ type: "pkcs8", format: "der" })) };
}

/** The private key, or null when the DMK does not open it. */
export function openPrivateKey(stored: SealedPrivateKey, dmk: Buffer): KeyObject | null {
  if (stored.encryptionType !== "MK") return null;
  const der = unseal(dmk, stored.sealed);
  return der === null ? null : createPrivateKey({ key: der, format: "der", type: "pkcs8" });
}
