/**
 * Operator passwords: salted, memory-hard scrypt hashes (node:crypto), in the form
 * `$scrypt$N=32768$r=8$p=1$<salt base64url>$<key base64url>` (no commas: OPERATOR_CREDENTIALS is a comma-separated list) that `turnlane hash-password`
 * prints. N=2^15, r=8 takes 32 MiB and about 60 ms per check on one core of the CI machine:
 * an offline guess costs the same, where the former unsalted SHA-256 cost nanoseconds
 * (OWASP's floor for scrypt is N=2^17 with p=1 or N=2^15 … ; 2^15 keeps a burst of logins on a
 * 2-core server from stalling it). Unsalted SHA-256 hex digests of today's
 * OPERATOR_CREDENTIALS are still accepted for one release, with a warning at startup.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Shortest password `hashPassword` takes: 12 characters (NIST 800-63B asks at least 8; these are operator accounts). */
export const MIN_PASSWORD_LENGTH = 12;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const DEFAULT_PARAMS = { N: 32768, r: 8, p: 1 };
const SCRYPT = /^\$scrypt\$N=(\d{1,7})\$r=(\d{1,2})\$p=(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{32,128})$/;
const LEGACY_SHA256 = /^[0-9a-f]{64}$/;

export class WeakPasswordError extends Error {
  readonly code = 'WEAK_PASSWORD';
}

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }, length: number): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default maxmem (32 MiB) is exactly N=2^15, r=8, so leave room.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A new salted hash of `password`; WeakPasswordError under MIN_PASSWORD_LENGTH characters. */
export async function hashPassword(password: string, params = DEFAULT_PARAMS): Promise<string> {
  if ([...password].length < MIN_PASSWORD_LENGTH) throw new WeakPasswordError(`a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_BYTES);
  return `$scrypt$N=${params.N}$r=${params.r}$p=${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Whether a stored credential is in a form `verifyPassword` reads: a scrypt hash or a legacy SHA-256 hex digest. */
export function isPasswordHash(stored: string): boolean {
  return SCRYPT.test(stored) || LEGACY_SHA256.test(stored);
}

/** A legacy unsalted SHA-256 digest (accepted for one release). */
export function isLegacyDigest(stored: string): boolean {
  return LEGACY_SHA256.test(stored);
}

/** Checks `password` against a stored hash in constant time; false for anything unreadable. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (LEGACY_SHA256.test(stored)) {
    const digest = createHash('sha256').update(password, 'utf8').digest();
    return timingSafeEqual(digest, Buffer.from(stored, 'hex'));
  }
  const match = SCRYPT.exec(stored);
  if (!match) return false;
  const [, n, r, p, salt64, key64] = match;
  const expected = Buffer.from(key64!, 'base64url');
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  // N must be a power of two; a malformed entry never reaches here (config validates), but stay total.
  if (params.N < 2 || (params.N & (params.N - 1)) !== 0 || params.N > 1 << 20) return false;
  const key = await derive(password, Buffer.from(salt64!, 'base64url'), params, expected.length);
  return timingSafeEqual(key, expected);
}

/** A hash of a random password for unknown users: checking it costs what a real check costs. */
let decoy: Promise<string> | null = null;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(24).toString('base64url'));
  return decoy;
}
