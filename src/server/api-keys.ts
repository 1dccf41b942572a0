/**
 * Store API keys for the API server: a presented key's SHA-256 is looked up in the store
 * (`apiKeys.findByDigest`, one primary-key-sized index probe) and the answer is kept briefly, so a
 * busy producer costs one lookup per CACHE_TTL_MS instead of one per request.
 */
import type { Logger } from 'pino';
import type { ApiKeyRecord, RuntimeStore } from '../store/contract.js';
import type { Principal } from './auth.js';

/**
 * 5 s: how late a revocation (`turnlane keys revoke`) takes effect on a running server, against a
 * store round trip on every request (the enqueue path's p99 target is 20 ms, spec 06).
 */
export const CACHE_TTL_MS = 5_000;
/** Cached answers, unknown keys included, so a flood of made-up keys costs at most this much memory (~1 MB). */
const MAX_CACHED = 10_000;

export function principalOfKey(record: ApiKeyRecord): Principal {
  if (record.role === 'producer') return { kind: 'producer', tenantId: record.tenantId, agentIds: record.agentIds, keyId: record.keyId };
  return { kind: 'operator', user: `key:${record.keyId}`, role: record.role };
}

/** `lookupApiKey` of AuthSettings over a store. A store failure answers "no such key" (401) and is logged. */
export function createApiKeyLookup(store: RuntimeStore, log: Logger, nowMs: () => number = Date.now): (keySha256: string) => Promise<Principal | null> {
  const cache = new Map<string, { principal: Principal | null; untilMs: number }>();
  return async (keySha256) => {
    const now = nowMs();
    const hit = cache.get(keySha256);
    if (hit && hit.untilMs > now) return hit.principal;
    let principal: Principal | null;
    try {
      const record = await store.apiKeys.findByDigest(keySha256);
      principal = record ? principalOfKey(record) : null;
    } catch (err) {
      log.warn({ err }, 'API key lookup failed; the request is refused as unauthenticated');
      return null;
    }
    cache.delete(keySha256);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(keySha256, { principal, untilMs: now + CACHE_TTL_MS });
    return principal;
  };
}
