/**
 * Building blocks of the task-session scenarios: the arbiter seeds' `test_create_request` (budget 5,
 * whitelist read_file and list_dir, 1 h, no rate limit, ceiling internal) and a draft for a session.
 */
import type { CreateTaskSessionRequest, QueuedWorkBatchDraft } from '../../src/store/contract.js';
import { turnInputDraft } from '../../src/store/drafts.js';

export const HOUR_MS = 60 * 60 * 1000;

export function taskRequest(overrides: Partial<CreateTaskSessionRequest> = {}): CreateTaskSessionRequest {
  return {
    agentId: 'agent-1',
    delegationChainSnapshot: [],
    declaredIntent: 'read and analyze files',
    authorizedTools: ['read_file', 'list_dir'],
    callBudget: 5,
    rateLimitPerWindow: null,
    rateLimitWindowSecs: 60,
    timeLimitMs: HOUR_MS,
    dataSensitivityCeiling: 'internal',
    ...overrides,
  };
}

export function inputFor(sessionId: string, text: string, extra: Partial<QueuedWorkBatchDraft> = {}): QueuedWorkBatchDraft {
  return { ...turnInputDraft(sessionId, text, 'after_current_turn_commit', 'exclusive'), ...extra };
}
