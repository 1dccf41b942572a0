import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { ApiKeyExistsError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';

const digest = (key: string) => createHash('sha256').update(key).digest('hex');

// Issue 14: API keys live in the store as SHA-256 digests with a tenant, a role and optional
// agent ids; a revoked key is no longer found by its digest but stays listed.
conformance('apiKeysAreStoredByDigestAndRevoked', async (store) => {
  const producer = await store.apiKeys.create({ keyId: 'k-a', keySha256: digest('secret-a'), tenantId: 'tenant-a', role: 'producer', agentIds: ['agent-1', 'agent-1', 'agent-2'], label: 'ci' });
  expect(producer).toMatchObject({ keyId: 'k-a', tenantId: 'tenant-a', role: 'producer', agentIds: ['agent-1', 'agent-2'], label: 'ci', revokedAtMs: null });
  expect(JSON.stringify(producer)).not.toContain(digest('secret-a'));
  const reader = await store.apiKeys.create({ keyId: 'k-ops', keySha256: digest('secret-ops'), tenantId: 'ops', role: 'read_only' });
  expect(reader).toMatchObject({ agentIds: null, label: '' });

  expect(await store.apiKeys.findByDigest(digest('secret-a'))).toEqual(producer);
  expect(await store.apiKeys.findByDigest(digest('unknown'))).toBeNull();

  // Neither the key id nor the digest can be taken twice.
  await expectTypedError(store.apiKeys.create({ keyId: 'k-a', keySha256: digest('other'), tenantId: 'tenant-b', role: 'producer' }), ApiKeyExistsError, 'API_KEY_EXISTS');
  await expectTypedError(store.apiKeys.create({ keyId: 'k-b', keySha256: digest('secret-a'), tenantId: 'tenant-b', role: 'producer' }), ApiKeyExistsError, 'API_KEY_EXISTS');
  for (const bad of [
    { keyId: 'k c', keySha256: digest('c'), tenantId: 't', role: 'producer' },
    { keyId: 'k-c', keySha256: 'ABC', tenantId: 't', role: 'producer' },
    { keyId: 'k-c', keySha256: digest('c'), tenantId: 't', role: 'root' },
    { keyId: 'k-c', keySha256: digest('c'), tenantId: '', role: 'producer' },
    { keyId: 'k-c', keySha256: digest('c'), tenantId: 't', role: 'producer', agentIds: [] },
  ]) {
    await expect(store.apiKeys.create(bad as never)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  }

  expect((await store.apiKeys.list()).map((k) => k.keyId)).toEqual(['k-ops', 'k-a']);
  expect((await store.apiKeys.list({ tenantId: 'tenant-a' })).map((k) => k.keyId)).toEqual(['k-a']);

  const revoked = await store.apiKeys.revoke('k-a');
  expect(revoked!.revokedAtMs).toBeGreaterThan(0);
  expect(await store.apiKeys.findByDigest(digest('secret-a'))).toBeNull();
  store.clock.advance(1000);
  expect(await store.apiKeys.revoke('k-a')).toEqual(revoked);
  expect(await store.apiKeys.revoke('k-missing')).toBeNull();
  expect((await store.apiKeys.list()).map((k) => k.keyId)).toEqual(['k-ops']);
  expect((await store.apiKeys.list({ includeRevoked: true })).map((k) => k.keyId)).toEqual(['k-ops', 'k-a']);
});
