/**
 * Regression for the first fuzzing find: text Postgres cannot store (U+0000, unpaired UTF-16
 * surrogates) reached the Postgres store and came back as raw driver errors (22021, 22P05).
 * Both stores now refuse it as InvalidInputError and write nothing.
 */
import { expect } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import type { QueuedWorkBatchDraft } from '../../src/store/contract.js';
import { conformance } from '../conformance/harness.js';
import { claimLeaseForTest, expectTypedError, stateCommit, underLease } from '../conformance/support.js';

const BAD = ['a\u0000b', '\ud800', 'x\udc00y'];

function draft(overrides: Partial<QueuedWorkBatchDraft>): QueuedWorkBatchDraft {
  return {
    sessionId: 'text',
    deliveryPolicy: 'after_current_turn_commit',
    slotPolicy: 'join',
    payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text: 'ok' }] } }],
    ...overrides,
  };
}

conformance('unstorableTextIsInvalidInput', async (store) => {
  for (const bad of BAD) {
    const drafts: QueuedWorkBatchDraft[] = [
      draft({ mergeKey: { kind: 'group', key: bad } }),
      draft({ sourceKey: bad }),
      draft({ payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text: bad }] } }] }),
      draft({ payloads: [{ type: 'session_command', command: { kind: 'reset_session', reason: bad } }] }),
    ];
    for (const d of drafts) await expectTypedError(store.queue.enqueue(d), InvalidInputError, 'INVALID_INPUT');
    await expectTypedError(store.leases.tryClaim('text', { ownerId: bad, incarnationId: 'i' }, 1000), InvalidInputError, 'INVALID_INPUT');
    await expectTypedError(store.queue.get(bad), InvalidInputError, 'INVALID_INPUT');
    await expectTypedError(store.queue.cancel('text', bad), InvalidInputError, 'INVALID_INPUT');
  }
  expect(await store.queue.list('text')).toEqual([]);
  expect(await store.leases.get('text')).toBeNull();

  const lease = await claimLeaseForTest(store, 'text', 'writer');
  const node = { nodeId: 'n1', parentNodeId: null, timestamp: 0, payload: { kind: 'message' as const, role: 'user' as const, parts: [{ text: 'a\u0000b' }] } };
  await expectTypedError(
    store.sessions.commit(underLease(stateCommit('text', { graph: { kind: 'append', nodes: [node], leafNodeId: 'n1' }, checkpoint: { turnIndex: 0 }, agentFrames: [], currentAgentFrameId: null }), lease)),
    InvalidInputError,
    'INVALID_INPUT',
  );
  expect(await store.sessions.load('text', { kind: 'full_graph' })).toBeNull();
});
