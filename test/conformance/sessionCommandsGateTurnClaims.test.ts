import { expect } from 'vitest';
import { SessionLeaseExpiredError } from '../../src/errors.js';
import type { QueuedWorkBatchDraft, RuntimeStore, SessionLease } from '../../src/store/contract.js';
import { leaseFence, queueClaimCompletion, sessionCommandDraft, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, expectTypedError, stateCommit, TEST_TTL_MS, underLease } from './support.js';

const grouped = (draft: QueuedWorkBatchDraft, key: string): QueuedWorkBatchDraft => ({ ...draft, mergeKey: { kind: 'group', key } });

function claims(store: RuntimeStore, lease: SessionLease) {
  const base = { sessionId: lease.sessionId, fence: leaseFence(lease), owner: lease.owner, ttlMs: TEST_TTL_MS };
  return {
    ready: (boundary: 'idle' | 'active_turn_checkpoint', maxBatches = 10) => store.queue.claimReady({ ...base, boundary, maxBatches }),
    exact: (ids: string[]) => store.queue.claimByBatchIds({ ...base, boundary: 'idle', batchIds: ids }),
    command: () => store.queue.claimLeadingSessionCommand(base),
  };
}

// From seed 004 (claim_leading_ready_session_command): a session command at the head gates turn claims.
conformance('sessionCommandsGateTurnClaims', async (store) => {
  const command = await store.queue.enqueue(sessionCommandDraft('root', { kind: 'reset_session', reason: 'operator reset' }, 'op-1'));
  expect(command.sourceKey).toBe('command:reset_session:op-1');
  const replay = await store.queue.enqueue(sessionCommandDraft('root', { kind: 'reset_session', reason: 'again' }, 'op-1'));
  expect(replay.batchId).toBe(command.batchId);
  const turn = await store.queue.enqueue(turnInputDraft('root', 'after the reset', 'earliest_safe_boundary', 'exclusive'));

  const lease = await claimLeaseForTest(store, 'root', 'owner');
  const claim = claims(store, lease);
  // A command at the head is never claimed as turn work and never skipped.
  expect(await claim.ready('idle')).toBeNull();
  expect(await claim.ready('active_turn_checkpoint')).toBeNull();
  expect(await claim.exact([command.batchId])).toBeNull();
  expect(await claim.exact([turn.batchId])).toBeNull();
  expect(batchIds(await store.queue.listPending('root'))).toEqual([command.batchId, turn.batchId]);

  // A stale fence cannot claim a command.
  await expectTypedError(
    store.queue.claimLeadingSessionCommand({ sessionId: 'root', fence: { ...leaseFence(lease), leaseToken: `${lease.leaseToken}:stale` }, owner: lease.owner, ttlMs: TEST_TTL_MS }),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );

  const commandClaim = await claim.command();
  expect(commandClaim).not.toBeNull();
  expect(batchIds(commandClaim!.batches)).toEqual([command.batchId]);
  expect(commandClaim!.batches[0]!.items[0]!.payload).toEqual({ type: 'session_command', command: { kind: 'reset_session', reason: 'operator reset' } });
  // With the command held, the turn input behind it is the head; the next command claim finds none.
  expect(await claim.command()).toBeNull();
  const turnClaim = await claim.ready('idle');
  expect(batchIds(turnClaim!.batches)).toEqual([turn.batchId]);

  await store.sessions.commit(underLease({
    ...stateCommit('root'),
    completedQueueClaims: [queueClaimCompletion(commandClaim!), queueClaimCompletion(turnClaim!)],
  }, lease));
  expect(await store.queue.list('root')).toEqual([]);

  // A turn input at the head: no command claim, even with a command right behind it.
  const lease2 = await claimLeaseForTest(store, 'root', 'owner');
  const claim2 = claims(store, lease2);
  const g1 = await store.queue.enqueue(grouped(turnInputDraft('root', 'g1', 'earliest_safe_boundary', 'join'), 'g'));
  const refresh = await store.queue.enqueue(sessionCommandDraft('root', { kind: 'refresh_tool_catalog', reason: 'tools changed' }, 'op-2'));
  const g2 = await store.queue.enqueue(grouped(turnInputDraft('root', 'g2', 'earliest_safe_boundary', 'join'), 'g'));
  expect(await claim2.command()).toBeNull();
  // A command ends a join group.
  const joined = await claim2.ready('idle');
  expect(batchIds(joined!.batches)).toEqual([g1.batchId]);
  expect(await claim2.ready('idle')).toBeNull();
  expect(batchIds((await claim2.command())!.batches)).toEqual([refresh.batchId]);
  expect(batchIds((await claim2.ready('idle'))!.batches)).toEqual([g2.batchId]);

  // Even a command delivered at the earliest safe boundary is not claimable as turn work mid-turn.
  const eager = await store.queue.enqueue({ ...sessionCommandDraft('eager', { kind: 'reset_session', reason: 'now' }, 'op-3'), deliveryPolicy: 'earliest_safe_boundary' });
  const eagerLease = await claimLeaseForTest(store, 'eager', 'owner');
  const eagerClaim = claims(store, eagerLease);
  expect(await eagerClaim.ready('active_turn_checkpoint')).toBeNull();
  expect(await eagerClaim.ready('idle')).toBeNull();
  expect(batchIds((await eagerClaim.command())!.batches)).toEqual([eager.batchId]);
});
