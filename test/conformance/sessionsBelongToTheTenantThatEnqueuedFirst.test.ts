import { expect } from 'vitest';
import { SessionNotFoundError } from '../../src/errors.js';
import { DEFAULT_TENANT_ID } from '../../src/store/tenants.js';
import { turnInputDraft, withSourceKey } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, expectTypedError } from './support.js';

const draft = (sessionId: string, text: string, tenantId?: string) => ({
  ...turnInputDraft(sessionId, text, 'after_current_turn_commit', 'exclusive'),
  ...(tenantId === undefined ? {} : { tenantId }),
});

// Issue 14: the first enqueue of a session makes it its tenant's; another tenant's enqueue is
// refused as if the session did not exist, writes nothing, and cannot squat its source keys.
conformance('sessionsBelongToTheTenantThatEnqueuedFirst', async (store) => {
  expect(await store.sessions.tenantOf('s-a')).toBeNull();
  const first = await store.queue.enqueue(withSourceKey(draft('s-a', 'hello', 'tenant-a'), 'msg-1'));
  expect(await store.sessions.tenantOf('s-a')).toBe('tenant-a');

  // Another tenant: refused as missing, with or without a source key, and nothing written.
  const refused = await expectTypedError(store.queue.enqueue(draft('s-a', 'intruder', 'tenant-b')), SessionNotFoundError, 'SESSION_NOT_FOUND');
  expect(refused.details).toEqual({ sessionId: 's-a' });
  await expectTypedError(store.queue.enqueue(withSourceKey(draft('s-a', 'squat', 'tenant-b'), 'msg-2')), SessionNotFoundError, 'SESSION_NOT_FOUND');
  await expectTypedError(store.queue.enqueue(withSourceKey(draft('s-a', 'replay', 'tenant-b'), 'msg-1')), SessionNotFoundError, 'SESSION_NOT_FOUND');
  expect(batchIds(await store.queue.list('s-a'))).toEqual([first.batchId]);
  expect(await store.sessions.tenantOf('s-a')).toBe('tenant-a');

  // The owner's later key is still free: the refused attempt did not take it.
  const second = await store.queue.enqueue(withSourceKey(draft('s-a', 'my second', 'tenant-a'), 'msg-2'));
  expect(second.batchId).not.toBe(first.batchId);
  expect(second.items[0]!.payload).toEqual({ type: 'turn_input', input: { items: [{ type: 'text', text: 'my second' }] } });
  expect(batchIds(await store.queue.list('s-a'))).toEqual([first.batchId, second.batchId]);

  // No tenant named: the default tenant, which owns nothing of tenant-a's.
  await expectTypedError(store.queue.enqueue(draft('s-a', 'default', undefined)), SessionNotFoundError, 'SESSION_NOT_FOUND');
  await store.queue.enqueue(draft('s-default', 'mine', undefined));
  expect(await store.sessions.tenantOf('s-default')).toBe(DEFAULT_TENANT_ID);
  await store.queue.enqueue(draft('s-default', 'mine too', DEFAULT_TENANT_ID));

  // Concurrent first enqueues of one new session by two tenants: exactly one tenant gets it.
  const race = await Promise.allSettled([
    ...Array.from({ length: 4 }, (_, i) => store.queue.enqueue(draft('s-race', `a${i}`, 'tenant-a'))),
    ...Array.from({ length: 4 }, (_, i) => store.queue.enqueue(draft('s-race', `b${i}`, 'tenant-b'))),
  ]);
  const winner = await store.sessions.tenantOf('s-race');
  expect(['tenant-a', 'tenant-b']).toContain(winner);
  const accepted = race.filter((r) => r.status === 'fulfilled');
  expect(accepted).toHaveLength(4);
  for (const r of race) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SessionNotFoundError);
  const texts = (await store.queue.list('s-race')).map((b) => (b.items[0]!.payload as { input: { items: { text: string }[] } }).input.items[0]!.text);
  expect(texts.every((t) => t.startsWith(winner === 'tenant-a' ? 'a' : 'b'))).toBe(true);

  // Bad tenant ids are refused before anything is written.
  await expect(store.queue.enqueue(draft('s-new', 'x', 'bad tenant!'))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  expect(await store.sessions.tenantOf('s-new')).toBeNull();
});
