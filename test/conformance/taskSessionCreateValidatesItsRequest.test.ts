import { expect } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import type { CreateTaskSessionRequest } from '../../src/store/contract.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { taskRequest } from './task-session-support.js';

// Addition: bad requests are InvalidInputError naming the field, and write nothing; defaults are filled in.
conformance('taskSessionCreateValidatesItsRequest', async (store) => {
  const bad: Array<[Partial<CreateTaskSessionRequest>, string]> = [
    [{ sessionId: 'has spaces' }, 'request.sessionId'],
    [{ agentId: '' }, 'request.agentId'],
    [{ callBudget: -1 }, 'request.callBudget'],
    [{ callBudget: 1.5 }, 'request.callBudget'],
    [{ timeLimitMs: 24 * 60 * 60 * 1000 + 1 }, 'request.timeLimitMs'],
    [{ rateLimitWindowSecs: 0 }, 'request.rateLimitWindowSecs'],
    [{ authorizedTools: [''] }, 'request.authorizedTools.0'],
    [{ dataSensitivityCeiling: 'secret' as never }, 'request.dataSensitivityCeiling'],
  ];
  for (const [overrides, field] of bad) {
    const err = await expectTypedError(store.sessions.create(taskRequest({ sessionId: 'v', ...overrides })), InvalidInputError, 'INVALID_INPUT');
    expect(err.details.field).toBe(field);
  }
  expect(await store.sessions.list()).toEqual([]);
  await expectTypedError(store.sessions.useTools('v', 'read_file' as never), InvalidInputError, 'INVALID_INPUT');

  const minimal = await store.sessions.create({ agentId: 'agent-1', authorizedTools: ['t', 't'], callBudget: 1, timeLimitMs: 1000 });
  expect(minimal).toMatchObject({
    delegationChainSnapshot: [],
    declaredIntent: '',
    authorizedTools: ['t'],
    rateLimitPerWindow: null,
    rateLimitWindowSecs: 60,
    dataSensitivityCeiling: 'internal',
    status: 'active',
  });
  const full = await store.sessions.create(taskRequest({ sessionId: 'full', delegationChainSnapshot: ['root', 'child'], dataSensitivityCeiling: 'restricted' }));
  expect(full.delegationChainSnapshot).toEqual(['root', 'child']);
  expect(await store.sessions.list({ limit: 1 })).toHaveLength(1);
});
