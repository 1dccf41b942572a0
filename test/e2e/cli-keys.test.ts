/** `turnlane keys create|list|revoke` as a process (issue 14): the key is printed once, the store keeps its SHA-256. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createRuntimeFixture, type RuntimeFixture } from '../helpers/runtime.js';

let f: RuntimeFixture;

beforeAll(async () => {
  f = await createRuntimeFixture();
});
afterAll(async () => {
  await f?.cleanup();
});

describe('turnlane keys', () => {
  it('creates a key bound to a tenant, role and agents, lists it without the key, and revokes it', async () => {
    const created = await runCli(f, ['keys', 'create', '--tenant', 'acme', '--agent', 'bot-1', '--agent', 'bot-2', '--label', 'ci', '--json']);
    expect(created.code).toBe(0);
    const record = JSON.parse(created.stdout);
    expect(record).toMatchObject({ tenantId: 'acme', role: 'producer', agentIds: ['bot-1', 'bot-2'], label: 'ci', revokedAtMs: null });
    expect(record.key).toMatch(/^tlk_[A-Za-z0-9_-]{43}$/);
    const digest = createHash('sha256').update(record.key).digest('hex');
    expect(await f.store.apiKeys.findByDigest(digest)).toMatchObject({ keyId: record.keyId, tenantId: 'acme' });

    const human = await runCli(f, ['keys', 'create', '--tenant', 'ops', '--role', 'read_only', '--id', 'monitoring']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('monitoring');
    expect(human.stdout).toMatch(/shown once[\s\S]*\ntlk_/);

    const list = await runCli(f, ['keys', 'list']);
    expect(list.stdout).toContain(record.keyId);
    expect(list.stdout).toContain('read_only');
    expect(list.stdout).not.toContain(record.key);
    expect(list.stdout).not.toContain(digest);
    expect(JSON.parse((await runCli(f, ['keys', 'list', '--tenant', 'acme', '--json'])).stdout).map((k: { keyId: string }) => k.keyId)).toEqual([record.keyId]);

    expect((await runCli(f, ['keys', 'revoke', record.keyId])).code).toBe(0);
    expect(await f.store.apiKeys.findByDigest(digest)).toBeNull();
    expect(JSON.parse((await runCli(f, ['keys', 'list', '--tenant', 'acme', '--json'])).stdout)).toEqual([]);
    expect(await runCli(f, ['keys', 'revoke', 'no-such-key'])).toMatchObject({ code: 1, stderr: 'error: API_KEY_NOT_FOUND: no API key no-such-key\n' });
    expect(await runCli(f, ['keys', 'create', '--tenant', 'ops', '--id', 'monitoring'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: API_KEY_EXISTS: /) });
    expect(await runCli(f, ['keys', 'create', '--tenant', 'bad tenant'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: INVALID_INPUT: key.tenantId/) });
    // Eleven CLI processes one after the other: a generous bound for a loaded machine (12 s each seen at load 50).
  }, 300_000);
});
