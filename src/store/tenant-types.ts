/**
 * Tenants and API keys (issue 14): every session belongs to one tenant, and every API key acts
 * for one tenant with one role. Part of the store contract.
 */

/**
 * `producer`: the key's own tenant's sessions (its producer routes, streams, idempotency keys and
 * per-agent caps). The operator roles see every tenant: `read_only` reads, `operator` also runs
 * destructive commands (reset, close, cancel, requeue), `admin` also changes Bull Board's jobs.
 */
export type ApiKeyRole = 'producer' | 'read_only' | 'operator' | 'admin';

export interface ApiKeyRecord {
  /** Public name of the key (listing, revoking, logs). */
  keyId: string;
  tenantId: string;
  role: ApiKeyRole;
  /** Null: any agent of the tenant; else only task sessions of these agents. */
  agentIds: string[] | null;
  label: string;
  createdAtMs: number;
  /** Null while the key is live. */
  revokedAtMs: number | null;
}

export interface NewApiKey {
  /** 1–64 characters of [A-Za-z0-9._-]. */
  keyId: string;
  /** Lowercase hex SHA-256 of the key (the key itself is never stored). */
  keySha256: string;
  /** 1–64 characters of [A-Za-z0-9._-]. */
  tenantId: string;
  role: ApiKeyRole;
  /** Default null (any agent). At most 100, each 1–256 characters. */
  agentIds?: string[] | null;
  /** Free text for people, at most 200 characters. Default ''. */
  label?: string;
}

export interface ApiKeyFilter {
  tenantId?: string;
  /** Default false: live keys only. */
  includeRevoked?: boolean;
}

/** The key operations on `store.apiKeys`. */
export interface ApiKeyOperations {
  /** InvalidInputError on a bad field; ApiKeyExistsError when the key id or the digest is taken. */
  create(key: NewApiKey): Promise<ApiKeyRecord>;
  /** By tenant, then key id. */
  list(filter?: ApiKeyFilter): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked (idempotent: a revoked key keeps its first revocation time); null when there is no such key. */
  revoke(keyId: string): Promise<ApiKeyRecord | null>;
  /** The live (not revoked) key with this digest; null otherwise. */
  findByDigest(keySha256: string): Promise<ApiKeyRecord | null>;
}
