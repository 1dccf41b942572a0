import { expect } from 'vitest';
import type { SessionStateSnapshot } from '../../src/store/contract.js';
import { conformance } from './harness.js';
import { bytesOf, commitForTest, minimalState, stateCommit, utf8 } from './support.js';

// Twin of commit_increments_head_and_round_trips_agent_frames.
conformance('commitIncrementsHeadAndRoundTripsAgentFrames', async (store) => {
  const state: SessionStateSnapshot = minimalState({
    checkpoint: { turnIndex: 0, executionState: utf8('frame-vm') },
    agentFrames: [
      { frameId: 'frame-1', sessionId: 'root', parentFrameId: null, reason: 'initial' },
      { frameId: 'frame-2', sessionId: 'root', parentFrameId: 'frame-1', reason: 'plan_mode', executionStateSnapshot: utf8('frame-vm') },
    ],
    currentAgentFrameId: 'frame-2',
  });

  const first = await commitForTest(store, stateCommit('root', state), 'commit-round-trip');
  expect(first.headRevision).toBe(1);

  const read = await store.sessions.load('root', { kind: 'full_graph' });
  expect(read).not.toBeNull();
  expect(read!.sessionId).toBe('root');
  expect(read!.headRevision).toBe(1);
  expect(read!.currentAgentFrameId).toBe('frame-2');
  expect(read!.agentFrames).toHaveLength(2);
  const initial = read!.agentFrames.find((frame) => frame.frameId === 'frame-1');
  expect(initial).toMatchObject({ frameId: 'frame-1', sessionId: 'root', parentFrameId: null, reason: 'initial' });
  expect(bytesOf(initial!.executionStateSnapshot)).toBeNull();
  const current = read!.agentFrames.find((frame) => frame.frameId === 'frame-2');
  expect(current).toMatchObject({ frameId: 'frame-2', sessionId: 'root', parentFrameId: 'frame-1', reason: 'plan_mode' });
  expect(bytesOf(current!.executionStateSnapshot)).toEqual(Array.from(utf8('frame-vm')));
  expect(bytesOf(read!.checkpoint?.executionState)).toEqual(Array.from(utf8('frame-vm')));

  // Each commit increments the head by one and replaces the frames.
  const second = await commitForTest(
    store,
    stateCommit('root', minimalState({
      checkpoint: { turnIndex: 1 },
      agentFrames: [{ frameId: 'frame-3', sessionId: 'root', parentFrameId: null, reason: 'fresh' }],
      currentAgentFrameId: 'frame-3',
    }), { expectedHeadRevision: 1 }),
    'commit-round-trip-2',
  );
  expect(second.headRevision).toBe(2);
  const reread = await store.sessions.load('root', { kind: 'full_graph' });
  expect(reread!.headRevision).toBe(2);
  expect(reread!.checkpoint?.turnIndex).toBe(1);
  expect(reread!.agentFrames.map((frame) => frame.frameId)).toEqual(['frame-3']);
  expect(reread!.currentAgentFrameId).toBe('frame-3');
});
