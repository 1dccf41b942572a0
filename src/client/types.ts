/** The shapes the HTTP API takes and answers (src/server/schemas.ts and routes/), for `turnlane/client`. */
import type { DataSensitivity, DeadLetter, DeliveryPolicy, QueuedWorkBatch, SessionNode, SessionOverview, SlotPolicy, TaskSession, TurnInputItem } from '../store/contract.js';

export type { DataSensitivity, DeadLetter, DeliveryPolicy, QueuedWorkBatch, SessionNode, SessionOverview, SlotPolicy, TaskSession, TurnInputItem };

/** `POST /v1/sessions`. */
export interface CreateSessionInput {
  sessionId?: string;
  agentId: string;
  delegationChainSnapshot?: string[];
  declaredIntent?: string;
  authorizedTools: string[];
  callBudget: number;
  rateLimitPerWindow?: number | null;
  rateLimitWindowSecs?: number;
  timeLimitMs: number;
  dataSensitivityCeiling?: DataSensitivity;
}

/** `POST /v1/sessions/:id/inputs`: exactly one of `text` or `items`; at most one of `availableAtMs` or `delayMs`. */
export interface TurnInput {
  text?: string;
  items?: TurnInputItem[];
  deliveryPolicy?: DeliveryPolicy;
  slotPolicy?: SlotPolicy;
  mergeKey?: string | { kind: 'never' } | { kind: 'group'; key: string };
  availableAtMs?: number;
  delayMs?: number;
  agentId?: string;
  sensitivity?: DataSensitivity;
}

/** `POST /v1/sessions/:id/commands`. */
export interface SessionCommandInput {
  kind: 'reset_session' | 'refresh_tool_catalog';
  reason?: string;
}

/** `GET /v1/sessions/:id`. */
export interface SessionView {
  sessionId: string;
  status: SessionOverview['status'];
  policy: TaskSession | null;
  headRevision: number;
  lastCommitAtMs: number | null;
  lease: SessionOverview['lease'];
  queueDepth: number;
  heldCount: number;
  deadLetterCount: number;
  callsMade: number | null;
  callBudget: number | null;
}

/** `GET /v1/sessions/:id/queue`. */
/** A queued batch without its items, as list routes answer unless `payloads=true`. */
export type BatchSummary = Omit<QueuedWorkBatch, 'items'> & { itemCount: number; payloadBytes: number };

/** `GET /v1/sessions/:id/queue`: one page (`next`: the cursor of the following page, null at the end). */
export interface QueueView {
  sessionId: string;
  batches: Array<BatchSummary & { held: boolean }>;
  next: string | null;
}

/** `GET /v1/sessions` (operator). */
export interface SessionList {
  sessions: SessionOverview[];
  next: string | null;
}

/** `GET /readyz`. */
export interface Readiness {
  status: 'ready' | 'unavailable';
  checks: { postgres: 'ok' | 'unavailable'; redis: 'ok' | 'unavailable' };
}

/** What `events()` yields: the API's Server-Sent Events, parsed. */
export type SessionEvent =
  | { type: 'ready'; data: { sessionId: string; headRevision: number } }
  | { type: 'commit'; id: number; data: { sessionId: string; headRevision: number; turnId: string; committedAtMs: number; appendedNodes: SessionNode[] } }
  | { type: 'session_closed'; data: { sessionId: string; status: string } };
