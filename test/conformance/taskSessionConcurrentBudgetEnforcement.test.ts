import { expect } from 'vitest';
import { BudgetExceededError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { taskRequest } from './task-session-support.js';

// Twin of concurrent_budget_enforcement (seed 001); the two-process version is test/integration/task-session-budget-across-processes.test.ts.
conformance('taskSessionConcurrentBudgetEnforcement', async (store, ctx) => {
  const other = await ctx.open();
  const { sessionId } = await store.sessions.create(taskRequest({ callBudget: 5, authorizedTools: ['read_file'] }));
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).sessions.useTools(sessionId, ['read_file'])));
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
  for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(BudgetExceededError);
  expect((await store.sessions.get(sessionId))!.callsMade).toBe(5);
});
