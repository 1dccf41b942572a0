/**
 * What the runtime reports as it works: metrics, the demo's progress and tests listen here.
 * Listeners must be cheap and must not throw; they run on the turn's path.
 */
import { EventEmitter } from 'node:events';
import type { QueuedWorkBatch, QueuedWorkClaim, SessionNode } from '../store/contract.js';

export interface RuntimeEventMap {
  turn_started: [{ sessionId: string; turnId: string; claim: QueuedWorkClaim }];
  checkpoint_delivery: [{ sessionId: string; turnId: string; claim: QueuedWorkClaim }];
  turn_committed: [
    {
      sessionId: string;
      turnId: string;
      headRevision: number;
      fencingToken: number;
      batchIds: string[];
      commitMs: number;
      enqueuedBatches: QueuedWorkBatch[];
      appendedNodes: SessionNode[];
    },
  ];
  turn_failed: [{ sessionId: string; turnId: string; batchIds: string[]; error: string; deadLettered: string[] }];
  commit_refused: [{ sessionId: string; turnId: string; code: string }];
  lease_takeover: [{ sessionId: string; fencingToken: number }];
  reconciled: [{ published: number; deadLettered: number; republished: number }];
}

export class RuntimeEvents extends EventEmitter<RuntimeEventMap> {}
