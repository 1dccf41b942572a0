/**
 * Task sessions (spec/04-session-policy.md): the limits a session is created with, enforced in
 * Postgres so they hold across every worker process. Part of the store contract.
 */

export type DataSensitivity = 'public' | 'internal' | 'confidential' | 'restricted';

/** `active` until closed (`close`, `closeAllForAgent`) or expired (time limit passed, marked durably on first use). */
export type TaskSessionStatus = 'active' | 'closed' | 'expired';

export interface CreateTaskSessionRequest {
  /** Given by the caller, or generated when absent. */
  sessionId?: string;
  /** The agent this session belongs to; every tool call and enqueue may state it, and a mismatch is refused. */
  agentId: string;
  /** Kept as given. Default []. */
  delegationChainSnapshot?: string[];
  /** Free text. Default ''. */
  declaredIntent?: string;
  /** The tool whitelist. */
  authorizedTools: string[];
  /** Total tool calls allowed; 0 means none. */
  callBudget: number;
  /** Tool calls allowed per sliding window; null or absent: no rate limit. */
  rateLimitPerWindow?: number | null;
  /** Window length in seconds. Default 60. */
  rateLimitWindowSecs?: number;
  /** The session expires this long after creation; capped at 24 h when read back. */
  timeLimitMs: number;
  /** Inputs and tools declaring a higher sensitivity are refused. Default 'internal'. */
  dataSensitivityCeiling?: DataSensitivity;
  /**
   * The creating tenant (default: the default tenant); the session becomes its. Creating over a
   * session id that another tenant owns, or that has accepted input (queued, dead-lettered or
   * remembered batches, or a commit), is refused with SessionAlreadyExistsError. The per-agent cap
   * of createIfUnderCap counts this tenant's sessions only.
   */
  tenantId?: string;
}

export interface TaskSession {
  sessionId: string;
  agentId: string;
  delegationChainSnapshot: string[];
  declaredIntent: string;
  authorizedTools: string[];
  callBudget: number;
  callsMade: number;
  rateLimitPerWindow: number | null;
  rateLimitWindowSecs: number;
  /** As read back: at most 24 h, whatever the row says. */
  timeLimitMs: number;
  dataSensitivityCeiling: DataSensitivity;
  status: TaskSessionStatus;
  createdAtMs: number;
  /** createdAtMs + timeLimitMs (capped). */
  expiresAtMs: number;
  closedAtMs: number | null;
}

export interface UseToolsOptions {
  /** When given, must equal the session's agent (AgentMismatchError otherwise). */
  agentId?: string;
  /** The sensitivity the tools declare; above the session's ceiling is refused. */
  sensitivity?: DataSensitivity;
}

export interface ToolUseReceipt {
  callsMade: number;
  callBudget: number;
  /** Calls left in the current rate window; null without a rate limit. */
  windowRemaining: number | null;
}

export interface TaskSessionFilter {
  agentId?: string;
  status?: TaskSessionStatus;
  /** 1–1,000. Default 100. */
  limit?: number;
}

/** The policy operations on `store.sessions` (besides commit, load, loadNode, saveMeta, loadMeta). */
export interface TaskSessionOperations {
  /** SessionAlreadyExistsError when the id exists. */
  create(request: CreateTaskSessionRequest): Promise<TaskSession>;
  /** Atomic per agent: TooManySessionsError with the limit and the current count. */
  createIfUnderCap(request: CreateTaskSessionRequest, maxActivePerAgent: number): Promise<TaskSession>;
  /** Null when there is no task session record. */
  get(sessionId: string): Promise<TaskSession | null>;
  list(filter?: TaskSessionFilter): Promise<TaskSession[]>;
  /** Active sessions of the agent; with `tenantId`, of that tenant's sessions only. */
  countActiveForAgent(agentId: string, tenantId?: string): Promise<number>;
  /**
   * The tenant owning the session: set by its first enqueue or its create, never changed. Null
   * when nobody owns it (never enqueued to nor created). Rows touched: none.
   */
  tenantOf(sessionId: string): Promise<string | null>;
  /**
   * All or nothing, in one transaction: exists, agent matches, not closed, not expired (marked
   * expired durably first), every name whitelisted, budget, rate window. Nothing is consumed when
   * any check fails. An empty list succeeds and consumes nothing.
   */
  useTools(sessionId: string, names: string[], options?: UseToolsOptions): Promise<ToolUseReceipt>;
  /** Closes the session and cancels its unclaimed batches; idempotent on a closed session. */
  close(sessionId: string, options?: { agentId?: string }): Promise<TaskSession>;
  /** Closes every active session of the agent; returns how many. */
  closeAllForAgent(agentId: string): Promise<number>;
  /** Removes closed and expired sessions' records older than the retention, with their queued work; returns how many. */
  cleanup(): Promise<number>;
}
