/**
 * Tenants in the reference model: who owns a session, the enqueue and create rules that use it,
 * and API keys. Synchronous between validation and return, like every operation of the model.
 */
import { ApiKeyExistsError, SessionNotFoundError } from '../../errors.js';
import type { TenantScope } from '../contract.js';
import type { ApiKeyFilter, ApiKeyRecord, NewApiKey } from '../tenant-types.js';
import { assertKeyDigest, assertKeyId, assertTenantId, normalizeNewApiKey, parseKeyFilter } from '../tenants.js';
import type { NormalizedDraft } from '../validate.js';
import { assertSessionId } from '../validate.js';
import { copy, storeNow, type MemoryState } from './state.js';

/** The tenant a scope names, validated; null for every tenant. */
export function tenantScopeOf(scope: TenantScope | undefined): string | null {
  if (scope?.tenantId === undefined) return null;
  assertTenantId(scope.tenantId, 'scope.tenantId');
  return scope.tenantId;
}

/** Whether a caller scoped to `tenantId` (null: every tenant) sees the session. */
export function tenantSees(state: MemoryState, tenantId: string | null, sessionId: string): boolean {
  return tenantId === null || state.sessionTenants.get(sessionId) === tenantId;
}

/** Another tenant's session is refused as if it did not exist. Reads only. */
export function tenantAdmitDraft(state: MemoryState, draft: NormalizedDraft): void {
  const owner = state.sessionTenants.get(draft.sessionId);
  if (owner !== undefined && owner !== draft.tenantId) throw new SessionNotFoundError(`no session ${draft.sessionId}`, { sessionId: draft.sessionId });
}

/** Accepted input of a session: queued, dead-lettered or remembered batches, or a commit. */
export function sessionHasAcceptedInput(state: MemoryState, sessionId: string): boolean {
  if (state.sessions.has(sessionId)) return true;
  for (const row of state.batches.values()) if (row.batch.sessionId === sessionId) return true;
  for (const row of state.deadLetters.values()) if (row.deadLetter.sessionId === sessionId) return true;
  const prefix = `${sessionId}\u0000`;
  for (const key of state.queuedSourceKeys.keys()) if (key.startsWith(prefix)) return true;
  for (const key of state.sourceKeyMemories.keys()) if (key.startsWith(prefix)) return true;
  return false;
}

export function sessionTenantOf(state: MemoryState, sessionId: string): string | null {
  assertSessionId(sessionId);
  return state.sessionTenants.get(sessionId) ?? null;
}

export function apiKeyCreate(state: MemoryState, key: NewApiKey): ApiKeyRecord {
  const k = normalizeNewApiKey(key);
  for (const row of state.apiKeys.values()) {
    if (row.record.keyId === k.keyId || row.keySha256 === k.keySha256) throw new ApiKeyExistsError(`API key ${k.keyId} or its digest exists`, { keyId: k.keyId });
  }
  const record: ApiKeyRecord = { keyId: k.keyId, tenantId: k.tenantId, role: k.role, agentIds: k.agentIds, label: k.label, createdAtMs: storeNow(state), revokedAtMs: null };
  state.apiKeys.set(k.keyId, { record, keySha256: k.keySha256 });
  return copy(record);
}

export function apiKeyList(state: MemoryState, filter?: ApiKeyFilter): ApiKeyRecord[] {
  const f = parseKeyFilter(filter);
  return [...state.apiKeys.values()]
    .map((row) => row.record)
    .filter((r) => (f.tenantId === null || r.tenantId === f.tenantId) && (f.includeRevoked || r.revokedAtMs === null))
    .sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0))
    .map((r) => copy(r));
}

export function apiKeyRevoke(state: MemoryState, keyId: string): ApiKeyRecord | null {
  assertKeyId(keyId);
  const row = state.apiKeys.get(keyId);
  if (!row) return null;
  row.record.revokedAtMs ??= storeNow(state);
  return copy(row.record);
}

export function apiKeyFindByDigest(state: MemoryState, keySha256: string): ApiKeyRecord | null {
  assertKeyDigest(keySha256);
  for (const row of state.apiKeys.values()) if (row.keySha256 === keySha256 && row.record.revokedAtMs === null) return copy(row.record);
  return null;
}
