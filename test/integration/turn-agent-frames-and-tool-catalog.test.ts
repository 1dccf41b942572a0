/**
 * Issue 13 item 9, end to end (Postgres store, real Redis, a worker in this process): a turn
 * handler writes agent frames through `TurnResult.agentFrames` and the next turn loads them back,
 * snapshot bytes included; `refresh_tool_catalog` advances the checkpoint's toolStateGeneration,
 * which the next turn sees (the handler's cue to reload its tools), without counting as a turn.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentFrame, PersistedSessionRead } from '../../src/store/contract.js';
import { createWorker, type TurnWorker } from '../../src/runtime/worker.js';
import type { TurnHandler } from '../../src/runtime/turn.js';
import { waitFor } from '../helpers/processes.js';
import { createRuntimeFixture, queueIsEmpty, type RuntimeFixture } from '../helpers/runtime.js';

let f: RuntimeFixture;
let worker: TurnWorker;
let running: Promise<void>;
/** What each turn saw of the session when it started, in order. */
const seen: Array<{ text: string; session: PersistedSessionRead | null }> = [];

const frame = (frameId: string, parentFrameId: string | null, bytes?: number[]): AgentFrame => ({
  frameId,
  sessionId: 'frames',
  parentFrameId,
  reason: `entered ${frameId}`,
  ...(bytes ? { executionStateSnapshot: new Uint8Array(bytes) } : {}),
});

const handler: TurnHandler = async (turn) => {
  const text = turn.inputs.map((i) => (i.payload.type === 'turn_input' && i.payload.input.items[0]?.type === 'text' ? i.payload.input.items[0].text : '')).join();
  seen.push({ text, session: turn.session });
  const reply = { append: [{ payload: { kind: 'message' as const, role: 'assistant' as const, parts: [text] } }] };
  if (text === 'enter planner') return { ...reply, agentFrames: [frame('root', null), frame('planner', 'root', [1, 2, 3])], currentAgentFrameId: 'planner' };
  return reply;
};

beforeAll(async () => {
  f = await createRuntimeFixture();
  worker = createWorker({ store: f.store, handler, settings: f.settings, concurrency: 2, leaseTtlMs: 5000, reconcileIntervalMs: 0, allowInlineAttachments: true });
  running = worker.run();
});
afterAll(async () => {
  await worker?.close();
  await running;
  await f?.cleanup();
});

async function turnAndWait(sessionId: string, text: string): Promise<void> {
  await f.producer.enqueueTurnInput({ sessionId, text });
  await waitFor(() => queueIsEmpty(f.store, [sessionId]), 30_000, `the turn "${text}" to commit`);
}

describe('turn handlers reach agent frames and the tool catalog generation', () => {
  it('a handler writes agent frames; the store keeps them and the next turn loads them', async () => {
    await turnAndWait('frames', 'hello');
    await turnAndWait('frames', 'enter planner');
    const stored = await f.store.sessions.load('frames', { kind: 'active_path' });
    expect(stored!.currentAgentFrameId).toBe('planner');
    expect(stored!.agentFrames.map((x) => [x.frameId, x.parentFrameId])).toEqual([['root', null], ['planner', 'root']]);
    expect(Array.from(stored!.agentFrames[1]!.executionStateSnapshot!)).toEqual([1, 2, 3]);

    // A turn that says nothing about frames keeps them.
    await turnAndWait('frames', 'carry on');
    const last = seen.at(-1)!;
    expect(last.text).toBe('carry on');
    expect(last.session!.currentAgentFrameId).toBe('planner');
    expect(last.session!.agentFrames.map((x) => x.frameId)).toEqual(['root', 'planner']);
    expect((await f.store.sessions.load('frames', { kind: 'active_path' }))!.agentFrames.map((x) => x.frameId)).toEqual(['root', 'planner']);
  });

  it('refresh_tool_catalog advances toolStateGeneration, which the next turn sees', async () => {
    await turnAndWait('tools', 'first');
    const before = seen.at(-1)!.session;
    expect(before).toBeNull();
    const afterFirst = await f.store.sessions.load('tools', { kind: 'active_path' });
    expect(afterFirst!.checkpoint!.toolStateGeneration ?? 0).toBe(0);

    await f.producer.submitSessionCommand('tools', { kind: 'refresh_tool_catalog', reason: 'tools changed' }, 'refresh-1');
    await waitFor(() => queueIsEmpty(f.store, ['tools']), 30_000, 'the command to be applied');
    const afterCommand = await f.store.sessions.load('tools', { kind: 'active_path' });
    expect(afterCommand!.headRevision).toBe(2);
    expect(afterCommand!.checkpoint!.toolStateGeneration).toBe(1);
    // A command is no turn: the handler did not run for it and the turn index did not move.
    expect(seen.filter((s) => s.text === '')).toEqual([]);
    expect(afterCommand!.checkpoint!.turnIndex).toBe(afterFirst!.checkpoint!.turnIndex);

    await turnAndWait('tools', 'second');
    expect(seen.at(-1)!.session!.checkpoint!.toolStateGeneration).toBe(1);
    // Later turns keep the generation until the next refresh.
    expect((await f.store.sessions.load('tools', { kind: 'active_path' }))!.checkpoint!.toolStateGeneration).toBe(1);
  });
});
