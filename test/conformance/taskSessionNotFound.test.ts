import { expect } from 'vitest';
import { SessionNotFoundError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';

// Twin of session_not_found (seeds 000 and 001).
conformance('taskSessionNotFound', async (store) => {
  await expectTypedError(store.sessions.useTools('no-such-session', ['anything']), SessionNotFoundError, 'SESSION_NOT_FOUND');
  await expectTypedError(store.sessions.close('no-such-session'), SessionNotFoundError, 'SESSION_NOT_FOUND');
  expect(await store.sessions.get('no-such-session')).toBeNull();
});
