import { expect } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import { leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { claimLeaseForTest, expectTypedError, minimalState, stamped, stateCommit, TEST_TTL_MS, underLease } from './support.js';

// Operator views (dashboard, CLI, HTTP): every session any table mentions, its lease holder without
// the token, queue depth and held count, dead letters, head revision and recent commits;
// task-session status and budget when a record exists, 'implicit' otherwise.
conformance('operatorViewsShowSessionsWithoutTokens', async (store) => {
  expect(await store.operator.listSessions()).toEqual([]);
  expect(await store.operator.getSession('nobody')).toBeNull();
  expect(await store.operator.recentCommits('nobody')).toEqual([]);

  // "b-committed": two stamped commits, the lease released by the second.
  const lease = await claimLeaseForTest(store, 'b-committed', 'op-worker');
  const before = await store.clock.nowMs();
  await store.sessions.commit(stamped(underLease(stateCommit('b-committed'), lease, false), 'turn-1'));
  await store.sessions.commit(
    stamped(underLease(stateCommit('b-committed', minimalState({ checkpoint: { turnIndex: 1 } }), { enqueueBatches: [turnInputDraft('b-committed', 'follow-up', 'after_current_turn_commit', 'exclusive')] }), lease), 'turn-2'),
  );

  // "a-queued": three batches, one held by a live claim, one dead-lettered; the lease stays live.
  const held = await store.queue.enqueue(turnInputDraft('a-queued', 'one', 'after_current_turn_commit', 'exclusive'));
  await store.queue.enqueue(turnInputDraft('a-queued', 'two', 'after_current_turn_commit', 'exclusive'));
  const dead = await store.queue.enqueue(turnInputDraft('a-queued', 'three', 'after_current_turn_commit', 'exclusive'));
  const live = await claimLeaseForTest(store, 'a-queued', 'op-holder');
  const claim = await store.queue.claimReady({ sessionId: 'a-queued', fence: leaseFence(live), owner: live.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1 });
  expect(claim!.batches.map((b) => b.batchId)).toEqual([held.batchId]);
  expect(await store.queue.deadLetter('a-queued', dead.batchId, 'operator test')).not.toBeNull();

  // "c-dead": only a dead letter.
  const lone = await store.queue.enqueue(turnInputDraft('c-dead', 'lonely', 'after_current_turn_commit', 'exclusive'));
  await store.queue.deadLetter('c-dead', lone.batchId, 'poison');

  const all = await store.operator.listSessions();
  expect(all.map((s) => s.sessionId)).toEqual(['a-queued', 'b-committed', 'c-dead']);
  const [a, b, c] = all;
  expect(a).toEqual({
    sessionId: 'a-queued',
    status: 'implicit',
    agentId: null,
    headRevision: 0,
    lastCommitAtMs: null,
    lease: { ownerId: 'op-holder', fencingToken: live.fencingToken, expiresAtMs: live.expiresAtMs, live: true },
    queueDepth: 2,
    heldCount: 1,
    deadLetterCount: 1,
    callsMade: null,
    callBudget: null,
  });
  expect(b).toMatchObject({ sessionId: 'b-committed', headRevision: 2, queueDepth: 1, heldCount: 0, deadLetterCount: 0 });
  expect(b!.lease).toMatchObject({ ownerId: 'op-worker', fencingToken: lease.fencingToken, live: false });
  expect(b!.lastCommitAtMs).toBeGreaterThanOrEqual(before);
  expect(c).toMatchObject({ sessionId: 'c-dead', lease: null, queueDepth: 0, deadLetterCount: 1, headRevision: 0 });

  // No token ever appears in a view.
  const text = JSON.stringify(all);
  expect(text).not.toContain(live.leaseToken);
  expect(text).not.toContain(lease.leaseToken);
  expect(text).not.toContain(claim!.claimToken);
  expect(Object.keys(a!.lease!).sort()).toEqual(['expiresAtMs', 'fencingToken', 'live', 'ownerId']);

  // Keyset pages by id.
  expect((await store.operator.listSessions({ limit: 2 })).map((s) => s.sessionId)).toEqual(['a-queued', 'b-committed']);
  expect((await store.operator.listSessions({ afterSessionId: 'b-committed', limit: 2 })).map((s) => s.sessionId)).toEqual(['c-dead']);
  expect(await store.operator.getSession('b-committed')).toEqual(b);

  // Recent commits, newest first.
  const commits = await store.operator.recentCommits('b-committed');
  expect(commits.map((r) => [r.turnId, r.headRevision, r.enqueuedBatchCount])).toEqual([
    ['turn-2', 2, 1],
    ['turn-1', 1, 0],
  ]);
  expect(commits[0]!.committedAtMs).toBe(b!.lastCommitAtMs);
  expect((await store.operator.recentCommits('b-committed', 1)).map((r) => r.turnId)).toEqual(['turn-2']);

  // A task session shows its policy fields and can be filtered by agent.
  await store.sessions.create({ sessionId: 'd-task', agentId: 'agent-7', authorizedTools: ['search'], callBudget: 5, timeLimitMs: 60_000 });
  await store.sessions.useTools('d-task', ['search']);
  expect(await store.operator.getSession('d-task')).toMatchObject({ status: 'active', agentId: 'agent-7', callsMade: 1, callBudget: 5, queueDepth: 0, lease: null });
  expect((await store.operator.listSessions({ agentId: 'agent-7' })).map((s) => s.sessionId)).toEqual(['d-task']);
  expect(await store.operator.listSessions({ agentId: 'agent-8' })).toEqual([]);
  await store.sessions.close('d-task');
  expect((await store.operator.getSession('d-task'))!.status).toBe('closed');
  expect((await store.operator.listSessions()).map((s) => s.sessionId)).toEqual(['a-queued', 'b-committed', 'c-dead', 'd-task']);

  // Bad requests are typed.
  await expectTypedError(store.operator.listSessions({ limit: 0 }), InvalidInputError, 'INVALID_INPUT');
  await expectTypedError(store.operator.listSessions({ limit: 1001 }), InvalidInputError, 'INVALID_INPUT');
  await expectTypedError(store.operator.getSession('bad id!'), InvalidInputError, 'INVALID_INPUT');
  await expectTypedError(store.operator.recentCommits('b-committed', 201), InvalidInputError, 'INVALID_INPUT');
});
