/**
 * The queued_batches row shape and its conversion to the contract's QueuedWorkBatch. The same
 * shape arrives as a postgres.js row and as `to_jsonb(row)` inside source-key memories and dead
 * letters, so one converter serves all three.
 */
import { itemId } from '../../ids.js';
import type { ClaimedBatch, LeaseOwner, QueuedWorkBatch, QueuedWorkBatchStatus, QueuedWorkPayload } from '../contract.js';

export interface BatchRow {
  batch_id: string;
  session_id: string;
  enqueue_seq: number;
  delivery_policy: QueuedWorkBatch['deliveryPolicy'];
  slot_policy: QueuedWorkBatch['slotPolicy'];
  merge_key: string | null;
  is_command: boolean;
  source_key: string | null;
  available_at_ms: number;
  enqueued_at_ms: number;
  payloads: QueuedWorkPayload[];
  claim_id: string | null;
  claim_token: string | null;
  claim_owner: LeaseOwner | null;
  claimed_at_ms: number | null;
  claim_expires_at_ms: number | null;
  claim_count: number;
  attempts: number;
  last_error: string | null;
  alone_claim_id?: string | null;
}

export function batchFromRow(row: BatchRow, status: QueuedWorkBatchStatus = 'queued'): QueuedWorkBatch {
  return {
    batchId: row.batch_id,
    sessionId: row.session_id,
    deliveryPolicy: row.delivery_policy,
    slotPolicy: row.slot_policy,
    mergeKey: row.merge_key === null ? { kind: 'never' } : { kind: 'group', key: row.merge_key },
    sourceKey: row.source_key,
    availableAtMs: Number(row.available_at_ms),
    enqueueSeq: Number(row.enqueue_seq),
    enqueuedAtMs: Number(row.enqueued_at_ms),
    items: row.payloads.map((payload, index) => ({ itemId: itemId(row.batch_id, index), payload })),
    status,
  };
}

/** A claimed row as the claim hands it out: the batch with its attempts and last error. */
export function claimedBatchFromRow(row: BatchRow): ClaimedBatch {
  return { ...batchFromRow(row), attempts: row.attempts, lastError: row.last_error };
}

/** The stored owner object (liveness only when it was given). */
export function ownerFromColumns(ownerId: string, incarnationId: string, liveness: LeaseOwner['liveness'] | null): LeaseOwner {
  return liveness === null || liveness === undefined ? { ownerId, incarnationId } : { ownerId, incarnationId, liveness };
}
