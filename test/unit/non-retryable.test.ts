/**
 * Issue 13 item 7: a turn that fails in a way no retry can cure is dead-lettered at its first
 * failure, with the error as the reason: the handler's own NonRetryableError, and the task-session
 * refusals a retry cannot change (a spent budget, a tool outside the whitelist). A plain error
 * and RateLimitedError (the next window admits the call) keep their retries.
 */
import { describe, expect, it } from 'vitest';
import { NonRetryableError, RateLimitedError } from '../../src/errors.js';
import { toolPolicy } from '../../src/runtime/session-policy.js';
import type { TurnHandler } from '../../src/runtime/turn.js';
import { createInMemoryStore } from '../../src/store/memory/index.js';
import { turnInputDraft } from '../../src/store/drafts.js';
import type { RuntimeStore } from '../../src/store/contract.js';
import { drainForTest } from '../helpers/drain.js';

const owner = { ownerId: 'w', incarnationId: 'w:1' };

async function drainOnce(store: RuntimeStore, sessionId: string, handler: TurnHandler) {
  const taken = await store.leases.tryClaim(sessionId, owner, 30_000);
  if (taken.kind !== 'acquired') throw new Error('busy');
  return drainForTest(store, owner, taken.lease, handler, { useTools: toolPolicy(store) });
}

describe('a turn that cannot succeed on retry', () => {
  it('is dead-lettered at its first failure when the handler throws NonRetryableError', async () => {
    const store = createInMemoryStore();
    const batch = await store.queue.enqueue(turnInputDraft('s', 'hello', 'after_current_turn_commit', 'exclusive'));
    const report = await drainOnce(store, 's', async () => {
      throw new NonRetryableError('the order does not exist');
    });
    expect(report).toMatchObject({ failed: 1, committed: 0 });
    const letters = await store.queue.listDeadLetters('s');
    expect(letters.map((l) => [l.batchId, l.attempts, l.reason])).toEqual([[batch.batchId, 1, 'NonRetryableError: the order does not exist']]);
  });

  it('is dead-lettered at its first failure when the session budget or whitelist refuses a tool call', async () => {
    const store = createInMemoryStore();
    const budget = await store.sessions.create({ agentId: 'bot', authorizedTools: ['search'], callBudget: 1, timeLimitMs: 3_600_000 });
    const tools = await store.sessions.create({ agentId: 'bot', authorizedTools: ['search'], callBudget: 10, timeLimitMs: 3_600_000 });
    await store.queue.enqueue(turnInputDraft(budget.sessionId, 'two calls', 'after_current_turn_commit', 'exclusive'));
    await store.queue.enqueue(turnInputDraft(tools.sessionId, 'a forbidden tool', 'after_current_turn_commit', 'exclusive'));
    await drainOnce(store, budget.sessionId, async (turn) => {
      await turn.tools.use(['search', 'search']);
      return { append: [] };
    });
    await drainOnce(store, tools.sessionId, async (turn) => {
      await turn.tools.use(['delete_everything']);
      return { append: [] };
    });
    const letters = await store.queue.listDeadLetters();
    expect(letters.map((l) => [l.sessionId, l.attempts, l.reason.split(':')[0]])).toEqual([
      [budget.sessionId, 1, 'BudgetExceededError'],
      [tools.sessionId, 1, 'ToolNotAuthorizedError'],
    ]);
  });

  it('keeps its retries for a plain error and for RateLimitedError', async () => {
    const store = createInMemoryStore();
    const plain = await store.queue.enqueue(turnInputDraft('plain', 'x', 'after_current_turn_commit', 'exclusive'));
    const limited = await store.queue.enqueue(turnInputDraft('limited', 'x', 'after_current_turn_commit', 'exclusive'));
    await drainOnce(store, 'plain', async () => {
      throw new Error('flaky');
    });
    await drainOnce(store, 'limited', async () => {
      throw new RateLimitedError('the rate window is full', { retryAfterMs: 1000 });
    });
    expect(await store.queue.listDeadLetters()).toEqual([]);
    expect((await store.queue.get(plain.batchId))?.batchId).toBe(plain.batchId);
    expect((await store.queue.get(limited.batchId))?.batchId).toBe(limited.batchId);
  });
});
