import { expect } from 'vitest';
import { SessionExpiredError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { HOUR_MS, taskRequest } from './task-session-support.js';

// Twin of session_expiry (seeds 000 and 001), with the store clock instead of a sleep.
conformance('taskSessionExpiry', async (store) => {
  // A zero time limit is expired at once.
  const zero = await store.sessions.create(taskRequest({ timeLimitMs: 0 }));
  store.clock.advance(10);
  await expectTypedError(store.sessions.useTools(zero.sessionId, ['read_file']), SessionExpiredError, 'SESSION_EXPIRED');

  // An hour-long session works until its limit, then expires, and the status is marked durably.
  const hour = await store.sessions.create(taskRequest());
  await store.sessions.useTools(hour.sessionId, ['read_file']);
  store.clock.advance(HOUR_MS);
  // Read back before any use: reported expired, and no longer counted active.
  expect((await store.sessions.get(hour.sessionId))!.status).toBe('expired');
  expect(await store.sessions.countActiveForAgent('agent-1')).toBe(0);
  const err = await expectTypedError(store.sessions.useTools(hour.sessionId, ['read_file']), SessionExpiredError, 'SESSION_EXPIRED');
  expect(err.details).toMatchObject({ sessionId: hour.sessionId, expiresAtMs: hour.expiresAtMs });
  expect(await store.sessions.list({ status: 'expired' })).toHaveLength(2);
  const after = await store.sessions.get(hour.sessionId);
  expect(after).toMatchObject({ status: 'expired', callsMade: 1, closedAtMs: null });
});
