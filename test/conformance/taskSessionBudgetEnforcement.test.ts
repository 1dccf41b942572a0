import { expect } from 'vitest';
import { BudgetExceededError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { taskRequest } from './task-session-support.js';

// Twin of budget_enforcement (seeds 000 and 001).
conformance('taskSessionBudgetEnforcement', async (store) => {
  const { sessionId } = await store.sessions.create(taskRequest({ callBudget: 2 }));
  await store.sessions.useTools(sessionId, ['read_file']);
  await store.sessions.useTools(sessionId, ['read_file']);
  const err = await expectTypedError(store.sessions.useTools(sessionId, ['read_file']), BudgetExceededError, 'BUDGET_EXCEEDED');
  expect(err.details).toMatchObject({ sessionId, limit: 2, used: 2, requested: 1 });
  expect((await store.sessions.get(sessionId))!.callsMade).toBe(2);
});
