import { expect } from 'vitest';
import { BudgetExceededError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { taskRequest } from './task-session-support.js';

// Twin of batch_budget_enforcement (seeds 000 and 001): a batch over the budget consumes nothing.
conformance('taskSessionBatchBudgetAtomicity', async (store) => {
  const { sessionId } = await store.sessions.create(taskRequest({ callBudget: 3, authorizedTools: ['read_file'] }));
  const err = await expectTypedError(
    store.sessions.useTools(sessionId, ['read_file', 'read_file', 'read_file', 'read_file']),
    BudgetExceededError,
    'BUDGET_EXCEEDED',
  );
  expect(err.details).toMatchObject({ limit: 3, used: 0, requested: 4 });
  expect((await store.sessions.get(sessionId))!.callsMade).toBe(0);
  // The whole budget in one batch fits exactly.
  expect((await store.sessions.useTools(sessionId, ['read_file', 'read_file', 'read_file'])).callsMade).toBe(3);
});
