/**
 * Tenant ids and API key records at the store boundary, shared by both stores so they accept and
 * refuse the same inputs. The rules themselves (who owns a session) are in each store's enqueue,
 * create and reads; see docs/store-semantics.md, "Tenants".
 */
import { z } from 'zod';
import { InvalidInputError, describeValue } from '../errors.js';
import type { ApiKeyFilter, ApiKeyRole, NewApiKey } from './tenant-types.js';
import { parseWith } from './validate.js';

/**
 * The tenant of the environment-configured API key (API_KEY_SHA256), of sessions made before
 * tenants existed (migration 0005), and of store calls that name no tenant (in-process callers:
 * the demo, tests, the producer library), so setups from before tenants keep working unchanged.
 */
export const DEFAULT_TENANT_ID = 'default';

const TENANT_ID = /^[A-Za-z0-9._-]{1,64}$/;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const API_KEY_ROLES: readonly ApiKeyRole[] = ['producer', 'read_only', 'operator', 'admin'];
const MAX_KEY_AGENTS = 100;

export function assertTenantId(value: unknown, field = 'tenantId'): asserts value is string {
  if (typeof value !== 'string' || !TENANT_ID.test(value)) throw InvalidInputError.field(field, '1–64 characters of [A-Za-z0-9._-]', describeValue(value));
}

/** A draft's or request's tenant: as given, or the default tenant when absent. */
export function tenantOrDefault(value: unknown, field = 'tenantId'): string {
  if (value === undefined) return DEFAULT_TENANT_ID;
  assertTenantId(value, field);
  return value;
}

const newKeySchema = z.object({
  keyId: z.string().regex(KEY_ID, 'expected 1–64 characters of [A-Za-z0-9._-]'),
  keySha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits (SHA-256)'),
  tenantId: z.string().regex(TENANT_ID, 'expected 1–64 characters of [A-Za-z0-9._-]'),
  role: z.enum(['producer', 'read_only', 'operator', 'admin']),
  agentIds: z.array(z.string().min(1).max(256)).min(1).max(MAX_KEY_AGENTS).nullable().optional(),
  label: z.string().max(200).optional(),
});

export type NormalizedApiKey = Required<Omit<NewApiKey, 'agentIds'>> & { agentIds: string[] | null };

export function normalizeNewApiKey(key: unknown): NormalizedApiKey {
  const parsed = parseWith(newKeySchema, key, 'key');
  return { ...parsed, agentIds: parsed.agentIds ? [...new Set(parsed.agentIds)] : null, label: parsed.label ?? '' };
}

export function assertKeyId(value: unknown, field = 'keyId'): asserts value is string {
  if (typeof value !== 'string' || !KEY_ID.test(value)) throw InvalidInputError.field(field, '1–64 characters of [A-Za-z0-9._-]', describeValue(value));
}

export function assertKeyDigest(value: unknown, field = 'keySha256'): asserts value is string {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) throw InvalidInputError.field(field, '64 lowercase hex digits', describeValue(value));
}

export function parseKeyFilter(filter: unknown): { tenantId: string | null; includeRevoked: boolean } {
  const parsed = parseWith(
    z.object({ tenantId: z.string().regex(TENANT_ID).optional(), includeRevoked: z.boolean().optional() }).optional(),
    filter,
    'filter',
  ) as ApiKeyFilter | undefined;
  return { tenantId: parsed?.tenantId ?? null, includeRevoked: parsed?.includeRevoked ?? false };
}
