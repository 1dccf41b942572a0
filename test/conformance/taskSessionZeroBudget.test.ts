import { expect } from 'vitest';
import { BudgetExceededError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { taskRequest } from './task-session-support.js';

// Twin of zero_budget_session (seed 001).
conformance('taskSessionZeroBudget', async (store) => {
  const { sessionId } = await store.sessions.create(taskRequest({ callBudget: 0 }));
  const err = await expectTypedError(store.sessions.useTools(sessionId, ['read_file']), BudgetExceededError, 'BUDGET_EXCEEDED');
  expect(err.details).toMatchObject({ limit: 0, used: 0 });
});
