/** What operators see of sessions (dashboard, CLI, HTTP): read-only views, never tokens. Part of the store contract. */
import type { TaskSessionStatus } from './policy-types.js';

export interface SessionOverview {
  sessionId: string;
  /** The task session's status, or 'implicit' for a session that was never created with a policy. */
  status: TaskSessionStatus | 'implicit';
  agentId: string | null;
  headRevision: number;
  lastCommitAtMs: number | null;
  /** The lease holder, without its token; null when never leased. */
  lease: { ownerId: string; fencingToken: number; expiresAtMs: number; live: boolean } | null;
  /** Queued batches (held or not). */
  queueDepth: number;
  /** Of those, held by a live claim. */
  heldCount: number;
  deadLetterCount: number;
  callsMade: number | null;
  callBudget: number | null;
}

export interface TurnCommitRecord {
  turnId: string;
  headRevision: number;
  committedAtMs: number;
  /** Batches its outbox enqueued. */
  enqueuedBatchCount: number;
}

export interface OperatorOperations {
  /** Sessions ordered by id after `afterSessionId`, at most `limit` (1–1,000, default 100). */
  listSessions(request?: { afterSessionId?: string; limit?: number; agentId?: string }): Promise<SessionOverview[]>;
  /** Null when the store knows nothing of the session. */
  getSession(sessionId: string): Promise<SessionOverview | null>;
  /** The session's latest turn commits, newest first, at most `limit` (1–200, default 20). */
  recentCommits(sessionId: string, limit?: number): Promise<TurnCommitRecord[]>;
}
