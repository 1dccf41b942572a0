/**
 * Tenants in Postgres (issue 14): session_tenants (who owns a session) and api_keys. The owner of
 * a session is written once, by its first admitted enqueue (queue.ts, `tenantClaimStep`) or by its
 * create (task-sessions.ts), and never changed, so a read that checked it stays right.
 */
import { ApiKeyExistsError, SessionNotFoundError } from '../../errors.js';
import type { TenantScope } from '../contract.js';
import type { ApiKeyFilter, ApiKeyRecord, ApiKeyRole, NewApiKey } from '../tenant-types.js';
import { assertKeyDigest, assertKeyId, assertTenantId, normalizeNewApiKey, parseKeyFilter } from '../tenants.js';
import { assertSessionId } from '../validate.js';
import type { Db, Fragment, PgContext } from './context.js';
import { isUniqueViolation, runStatement } from './errors.js';

/** The tenant a scope names, validated; null for every tenant. */
export function tenantScopeOf(scope: TenantScope | undefined): string | null {
  if (scope?.tenantId === undefined) return null;
  assertTenantId(scope.tenantId, 'scope.tenantId');
  return scope.tenantId;
}

/**
 * CTE body `owner`: makes `tenantId` the session's owner when nobody owns it and `gate` holds;
 * returns a row only when this statement wrote it. A concurrent first claim of the same session
 * waits for the other's commit and then writes nothing, so exactly one tenant wins.
 */
export function tenantClaimStep(db: Db, ctx: PgContext, sessionId: string, tenantId: string, gate: Fragment): Fragment {
  return db`insert into session_tenants (session_id, tenant_id, owned_at_ms)
    select ${sessionId}, ${tenantId}, ${ctx.clock.now()} where ${gate}
    on conflict (session_id) do nothing
    returning tenant_id`;
}

/**
 * SQL boolean, with a CTE `owner` made by `tenantClaimStep` in the same statement: the session is
 * `tenantId`'s (this statement claimed it, or it was already). False while another tenant's
 * claim of a new session is concurrent with this statement (its row is not in this snapshot): the
 * caller reads again with `tenantRefusalRead`.
 */
export function tenantOwns(db: Db, sessionId: string, tenantId: string): Fragment {
  return db`(exists (select 1 from owner) or exists (select 1 from session_tenants o where o.session_id = ${sessionId} and o.tenant_id = ${tenantId}))`;
}

/** SQL boolean for a row alias's session column: the caller scoped to `tenantId` (null: everyone) sees it. */
export function tenantSees(db: Db, tenantId: string | null, sessionColumn: Fragment): Fragment {
  return db`(${tenantId}::text is null or exists (select 1 from session_tenants o where o.session_id = ${sessionColumn} and o.tenant_id = ${tenantId}::text))`;
}

/** After an enqueue wrote nothing: SessionNotFoundError when another tenant owns the session, else null. Rows touched: none. */
export async function tenantRefusalRead(db: Db, sessionId: string, tenantId: string): Promise<Error | null> {
  const [row] = await db<{ tenant_id: string }[]>`select tenant_id from session_tenants where session_id = ${sessionId}`;
  return row && row.tenant_id !== tenantId ? new SessionNotFoundError(`no session ${sessionId}`, { sessionId }) : null;
}

/** SQL boolean: the session has no accepted input (queued, dead-lettered or remembered batches, or a commit). */
export function sessionWithoutInput(db: Db, sessionId: string): Fragment {
  return db`(not exists (select 1 from queued_batches where session_id = ${sessionId})
    and not exists (select 1 from source_keys where session_id = ${sessionId})
    and not exists (select 1 from dead_letters where session_id = ${sessionId})
    and not exists (select 1 from sessions where session_id = ${sessionId}))`;
}

/** tenantOf: the owner, or null. Rows touched: none. */
export async function sessionTenantOf(ctx: PgContext, sessionId: string): Promise<string | null> {
  assertSessionId(sessionId);
  const [row] = await runStatement(() => ctx.sql<{ tenant_id: string }[]>`select tenant_id from session_tenants where session_id = ${sessionId}`);
  return row?.tenant_id ?? null;
}

interface ApiKeyRow {
  key_id: string;
  tenant_id: string;
  role: ApiKeyRole;
  agent_ids: string[] | null;
  label: string;
  created_at_ms: number;
  revoked_at_ms: number | null;
}

function keyFromRow(row: ApiKeyRow): ApiKeyRecord {
  return {
    keyId: row.key_id,
    tenantId: row.tenant_id,
    role: row.role,
    agentIds: row.agent_ids,
    label: row.label,
    createdAtMs: row.created_at_ms,
    revokedAtMs: row.revoked_at_ms,
  };
}

const KEY_COLUMNS = 'key_id, tenant_id, role, agent_ids, label, created_at_ms, revoked_at_ms';

/** create: one insert. ApiKeyExistsError when the key id or the digest is taken. */
export async function apiKeyCreate(ctx: PgContext, key: NewApiKey): Promise<ApiKeyRecord> {
  const k = normalizeNewApiKey(key);
  try {
    const [row] = await runStatement(
      () => ctx.sql<ApiKeyRow[]>`
        insert into api_keys (key_id, key_sha256, tenant_id, role, agent_ids, label, created_at_ms)
        values (${k.keyId}, ${k.keySha256}, ${k.tenantId}, ${k.role}, ${k.agentIds === null ? null : JSON.stringify(k.agentIds)}::text::jsonb,
          ${k.label}, ${ctx.clock.now()})
        returning ${ctx.sql.unsafe(KEY_COLUMNS)}`,
    );
    return keyFromRow(row!);
  } catch (err) {
    if (isUniqueViolation(err, 'api_keys_pkey') || isUniqueViolation(err, 'api_keys_sha256_key')) {
      throw new ApiKeyExistsError(`API key ${k.keyId} or its digest exists`, { keyId: k.keyId });
    }
    throw err;
  }
}

/** list: by tenant, then key id. Rows touched: none. */
export async function apiKeyList(ctx: PgContext, filter?: ApiKeyFilter): Promise<ApiKeyRecord[]> {
  const f = parseKeyFilter(filter);
  const rows = await runStatement(
    () => ctx.sql<ApiKeyRow[]>`
      select ${ctx.sql.unsafe(KEY_COLUMNS)} from api_keys
      where (${f.tenantId}::text is null or tenant_id = ${f.tenantId}::text) and (${f.includeRevoked}::boolean or revoked_at_ms is null)
      order by tenant_id collate "C", key_id collate "C"`,
  );
  return rows.map(keyFromRow);
}

/** revoke: sets revoked_at_ms once. Rows touched: the key's row. Null when there is no such key. */
export async function apiKeyRevoke(ctx: PgContext, keyId: string): Promise<ApiKeyRecord | null> {
  assertKeyId(keyId);
  const [row] = await runStatement(
    () => ctx.sql<ApiKeyRow[]>`
      update api_keys set revoked_at_ms = coalesce(revoked_at_ms, ${ctx.clock.now()}) where key_id = ${keyId}
      returning ${ctx.sql.unsafe(KEY_COLUMNS)}`,
  );
  return row ? keyFromRow(row) : null;
}

/** findByDigest: the live key with this digest (unique index api_keys_sha256_key). Rows touched: none. */
export async function apiKeyFindByDigest(ctx: PgContext, keySha256: string): Promise<ApiKeyRecord | null> {
  assertKeyDigest(keySha256);
  const [row] = await runStatement(
    () => ctx.sql<ApiKeyRow[]>`select ${ctx.sql.unsafe(KEY_COLUMNS)} from api_keys where key_sha256 = ${keySha256} and revoked_at_ms is null`,
  );
  return row ? keyFromRow(row) : null;
}
