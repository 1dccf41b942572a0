import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/** A lease or claim token: 128 bits from the CSPRNG, base64url. Never a UUID, never logged. */
export function newSecretToken(): string {
  return randomBytes(16).toString('base64url');
}

/** A batch id: opaque, unique, time-ordered (UUIDv7) so ids sort roughly by creation. */
export function newBatchId(): string {
  return `b_${uuidv7()}`;
}

/** A claim id: opaque and unique; not a secret (the claim token is). */
export function newClaimId(): string {
  return `c_${uuidv7()}`;
}

export function itemId(batchId: string, index: number): string {
  return `${batchId}:item:${index}`;
}

/** A generated session id for a task session created without one: `s_` + UUIDv7. */
export function newSessionId(): string {
  return `s_${uuidv7()}`;
}

/** A new API key: `tlk_` and 256 bits from the CSPRNG, base64url. Shown once; the store keeps its SHA-256. */
export function newApiKey(): string {
  return `tlk_${randomBytes(32).toString('base64url')}`;
}

/** A public API key id: `key_` and 48 random bits, hex (not a secret). */
export function newApiKeyId(): string {
  return `key_${randomBytes(6).toString('hex')}`;
}
