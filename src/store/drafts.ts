import type {
  DeliveryPolicy,
  LeaseFence,
  ProcessWakeDelivery,
  QueueClaimCompletion,
  QueuedWorkBatchDraft,
  QueuedWorkClaim,
  SessionCommand,
  SessionLease,
  SlotPolicy,
} from './contract.js';

/** A draft of one text turn input. */
export function turnInputDraft(
  sessionId: string,
  text: string,
  deliveryPolicy: DeliveryPolicy,
  slotPolicy: SlotPolicy,
): QueuedWorkBatchDraft {
  return {
    sessionId,
    deliveryPolicy,
    slotPolicy,
    mergeKey: { kind: 'never' },
    payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text }] } }],
  };
}

/** A background process wake: delivered at the earliest safe boundary, alone, deduplicated per process event. */
export function processWakeDraft(wake: ProcessWakeDelivery): QueuedWorkBatchDraft {
  return {
    sessionId: wake.targetSessionId,
    deliveryPolicy: 'earliest_safe_boundary',
    slotPolicy: 'exclusive',
    mergeKey: { kind: 'never' },
    sourceKey: `process:${wake.processId}:event:${wake.sequence}:wake`,
    payloads: [{ type: 'process_wake', wake }],
  };
}

/** An operator command: applied only at idle, alone, deduplicated by its idempotency key. */
export function sessionCommandDraft(sessionId: string, command: SessionCommand, idempotencyKey: string): QueuedWorkBatchDraft {
  return {
    sessionId,
    deliveryPolicy: 'after_current_turn_commit',
    slotPolicy: 'exclusive',
    mergeKey: { kind: 'never' },
    sourceKey: `command:${command.kind}:${idempotencyKey}`,
    payloads: [{ type: 'session_command', command }],
  };
}

export function withSourceKey(draft: QueuedWorkBatchDraft, sourceKey: string): QueuedWorkBatchDraft {
  return { ...draft, sourceKey };
}

/** The fence a lease holder presents to claims and commits. */
export function leaseFence(lease: SessionLease): LeaseFence {
  return { sessionId: lease.sessionId, owner: lease.owner, leaseToken: lease.leaseToken, fencingToken: lease.fencingToken };
}

/** The completion a lease holder presents to release; accepted after expiry, never clears a newer holder. */
export function leaseCompletion(lease: SessionLease): LeaseFence {
  return leaseFence(lease);
}

export function queueClaimCompletion(claim: QueuedWorkClaim): QueueClaimCompletion {
  return {
    sessionId: claim.sessionId,
    claimId: claim.claimId,
    claimToken: claim.claimToken,
    batchIds: claim.batches.map((b) => b.batchId),
  };
}
