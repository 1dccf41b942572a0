/**
 * The in-memory reference model of the store contract (spec 02): one process, no I/O,
 * durability `inline`. It is the oracle for model-based tests, so it favours plain data and
 * obvious code over speed. Each method runs synchronously to completion inside its promise, so
 * operations never interleave and each is atomic.
 */
import type { Limits, RuntimeStore } from '../contract.js';
import { assertNonNegativeInteger, resolveLimits } from '../validate.js';
import {
  manifestCommitRefs,
  manifestForget,
  manifestIsReferenced,
  manifestListUncommitted,
  manifestRecordIntent,
} from './attachments.js';
import { claimAbandon, claimByBatchIds, claimLeadingSessionCommand, claimNext, claimReady, claimRenew } from './claims.js';
import { claimMarkAlone } from './claim-alone.js';
import { sessionCommit } from './commits.js';
import { queueDeadLetter, queueListDeadLetters, queueRequeueDeadLetter } from './dead-letters.js';
import { leaseGet, leaseListLiveOnHost, leaseReclaim, leaseRelease, leaseRenew, leaseTransfer, leaseTryClaim } from './leases.js';
import { operatorGetSession, operatorListSessions, operatorRecentCommits } from './operator.js';
import { maintenanceGcUnreachable, maintenanceTombstoneNodes, maintenanceVacuum } from './maintenance.js';
import { queueCancel, queueEnqueue, queueGet, queueList, queueListPending, queueScan } from './queue.js';
import { sessionLoad, sessionLoadMeta, sessionLoadNode, sessionSaveMeta } from './reads.js';
import { createState, storeNow } from './state.js';
import { apiKeyCreate, apiKeyFindByDigest, apiKeyList, apiKeyRevoke, sessionTenantOf } from './tenants.js';
import {
  taskSessionCleanup,
  taskSessionClose,
  taskSessionCloseAllForAgent,
  taskSessionCountActiveForAgent,
  taskSessionCreate,
  taskSessionCreateIfUnderCap,
  taskSessionGet,
  taskSessionList,
  taskSessionUseTools,
} from './task-sessions.js';
import { DEFAULT_TASK_SESSION_RETENTION_MS } from '../policy-validate.js';

export interface InMemoryStoreOptions {
  /** How long a finished batch's source key keeps answering replays, in milliseconds. Default 24 hours. */
  sourceKeyRetentionMs?: number;
  /** Size and count limits; unset fields take DEFAULT_LIMITS. */
  limits?: Partial<Limits>;
  /** Enqueue to a session without a task-session record is allowed (true) or SessionNotFoundError (false). Default true. */
  implicitSessions?: boolean;
  /** How long closed and expired task-session records are kept before `sessions.cleanup()` removes them, in ms. Default 24 hours. */
  taskSessionRetentionMs?: number;
}

/** A producer retrying within a day is the case the retention covers; the seed kept keys only while queued. */
export const DEFAULT_SOURCE_KEY_RETENTION_MS = 24 * 60 * 60 * 1000;

import { renewHeld } from './renew-held.js';
import { acquireAndClaimNext, commitAndClaimNext } from './fused.js';

export function createInMemoryStore(options: InMemoryStoreOptions = {}): RuntimeStore {
  const limits = resolveLimits(options.limits);
  const retention = options.sourceKeyRetentionMs ?? DEFAULT_SOURCE_KEY_RETENTION_MS;
  assertNonNegativeInteger(retention, 'sourceKeyRetentionMs');
  const taskSessionRetentionMs = options.taskSessionRetentionMs ?? DEFAULT_TASK_SESSION_RETENTION_MS;
  assertNonNegativeInteger(taskSessionRetentionMs, 'taskSessionRetentionMs');
  const state = createState(limits, retention, { implicitSessions: options.implicitSessions ?? true, taskSessionRetentionMs });

  return {
    durability: 'inline',
    leases: {
      tryClaim: async (sessionId, owner, ttlMs) => leaseTryClaim(state, sessionId, owner, ttlMs),
      reclaim: async (sessionId, owner, observedHolder, ttlMs) => leaseReclaim(state, sessionId, owner, observedHolder, ttlMs),
      renew: async (fence, ttlMs) => leaseRenew(state, fence, ttlMs),
      renewHeld: async (req) => renewHeld(state, req),
      acquireAndClaimNext: async (req) => acquireAndClaimNext(state, req),
      release: async (completion) => leaseRelease(state, completion),
      get: async (sessionId) => leaseGet(state, sessionId),
      transfer: async (fence, nextOwner, ttlMs) => leaseTransfer(state, fence, nextOwner, ttlMs),
      listLiveOnHost: async (req) => leaseListLiveOnHost(state, req),
    },
    queue: {
      enqueue: async (draft) => queueEnqueue(state, draft).batch,
      enqueueWithOutcome: async (draft) => queueEnqueue(state, draft),
      claimReady: async (req) => claimReady(state, req),
      claimByBatchIds: async (req) => claimByBatchIds(state, req),
      claimLeadingSessionCommand: async (req) => claimLeadingSessionCommand(state, req),
      claimNext: async (req) => claimNext(state, req),
      renewClaim: async (claim, ttlMs) => claimRenew(state, claim, ttlMs),
      abandonClaim: async (claim, failure) => claimAbandon(state, claim, failure),
      markClaimAlone: async (claim) => claimMarkAlone(state, claim),
      cancel: async (sessionId, batchId) => queueCancel(state, sessionId, batchId),
      get: async (batchId) => queueGet(state, batchId),
      scan: async (req) => queueScan(state, req),
      list: async (sessionId, page) => queueList(state, sessionId, page),
      listPending: async (sessionId, page) => queueListPending(state, sessionId, page),
      deadLetter: async (sessionId, batchId, reason) => queueDeadLetter(state, sessionId, batchId, reason),
      listDeadLetters: async (sessionId, options) => queueListDeadLetters(state, sessionId, options),
      requeueDeadLetter: async (batchId, scope) => queueRequeueDeadLetter(state, batchId, scope),
    },
    sessions: {
      commit: async (commit) => sessionCommit(state, commit),
      commitAndClaimNext: async (commit, next) => commitAndClaimNext(state, commit, next),
      load: async (sessionId, scope) => sessionLoad(state, sessionId, scope),
      loadNode: async (sessionId, nodeId) => sessionLoadNode(state, sessionId, nodeId),
      saveMeta: async (meta) => sessionSaveMeta(state, meta),
      loadMeta: async (sessionId) => sessionLoadMeta(state, sessionId),
      create: async (request) => taskSessionCreate(state, request),
      createIfUnderCap: async (request, maxActivePerAgent) => taskSessionCreateIfUnderCap(state, request, maxActivePerAgent),
      get: async (sessionId) => taskSessionGet(state, sessionId),
      list: async (filter) => taskSessionList(state, filter),
      countActiveForAgent: async (agentId, tenantId) => taskSessionCountActiveForAgent(state, agentId, tenantId),
      tenantOf: async (sessionId) => sessionTenantOf(state, sessionId),
      useTools: async (sessionId, names, options) => taskSessionUseTools(state, sessionId, names, options),
      close: async (sessionId, options) => taskSessionClose(state, sessionId, options),
      closeAllForAgent: async (agentId) => taskSessionCloseAllForAgent(state, agentId),
      cleanup: async () => taskSessionCleanup(state),
    },
    attachments: {
      recordIntent: async (intent) => manifestRecordIntent(state, intent),
      commitRefs: async (sessionId, attachmentIds) => manifestCommitRefs(state, sessionId, attachmentIds),
      listUncommitted: async (olderThanMs) => manifestListUncommitted(state, olderThanMs),
      isReferenced: async (attachmentId, olderThanMs) => manifestIsReferenced(state, attachmentId, olderThanMs),
      forget: async (sessionId, attachmentId) => manifestForget(state, sessionId, attachmentId),
    },
    apiKeys: {
      create: async (key) => apiKeyCreate(state, key),
      list: async (filter) => apiKeyList(state, filter),
      revoke: async (keyId) => apiKeyRevoke(state, keyId),
      findByDigest: async (keySha256) => apiKeyFindByDigest(state, keySha256),
    },
    operator: {
      listSessions: async (request) => operatorListSessions(state, request),
      getSession: async (sessionId) => operatorGetSession(state, sessionId),
      recentCommits: async (sessionId, limit) => operatorRecentCommits(state, sessionId, limit),
    },
    maintenance: {
      tombstoneNodes: async (sessionId, nodeIds) => maintenanceTombstoneNodes(state, sessionId, nodeIds),
      vacuum: async () => maintenanceVacuum(state),
      gcUnreachable: async () => maintenanceGcUnreachable(state),
    },
    clock: {
      nowMs: async () => storeNow(state),
      advance: (ms) => {
        assertNonNegativeInteger(ms, 'ms');
        state.clockOffsetMs += ms;
      },
    },
    // Nothing to release: the model holds no connections.
    close: async () => {},
  };
}
