/**
 * The Postgres store: the product implementation of RuntimeStore (spec/02-store-contract.md).
 * Each segment lives in its own file; this one wires them to one pool, one clock and the limits.
 */
import { leaseAcquireAndClaimNext } from './lease-first.js';
import { sessionCommitAndClaimNext } from './commit-claim.js';
import { createSqlClient } from '../../../db/client.js';
import type { Limits, RuntimeStore } from '../contract.js';
import { assertNonNegativeInteger, resolveLimits } from '../validate.js';
import { createManifest } from './attachments.js';
import { batchClaimByIds, batchClaimLeadingCommand, batchClaimNext, batchClaimReady, claimAbandon, claimRenew } from './claims.js';
import { claimMarkAlone } from './claim-alone.js';
import { StoreClock } from './clock.js';
import { sessionCommit } from './commits.js';
import type { PgContext } from './context.js';
import { leaseGet, leaseListLiveOnHost, leaseReclaim, leaseRelease, leaseRenew, leaseTransfer, leaseTryClaim } from './leases.js';
import { checkpointsCollect, nodesTombstone, storeVacuum } from './maintenance.js';
import {
  batchCancel,
  batchGet,
  batchList,
  batchScan,
  deadLetterList,
  deadLetterRequeue,
  queueDeadLetter,
  queueEnqueue,
} from './queue.js';
import { leasesRenewHeld } from './renew-held.js';
import { operatorGetSession, operatorListSessions, operatorRecentCommits } from './operator.js';
import { sessionLoad, sessionLoadMeta, sessionLoadNode, sessionSaveMeta } from './reads.js';
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
import { apiKeyCreate, apiKeyFindByDigest, apiKeyList, apiKeyRevoke, sessionTenantOf } from './tenants.js';

export { createPostgresAttachmentStore } from './attachments-content.js';

/** 24 hours: long enough to absorb a producer's retries across a day's outage. */
const DEFAULT_SOURCE_KEY_RETENTION_MS = 24 * 60 * 60 * 1000;

export interface PostgresStoreOptions {
  /** Postgres URL of a migrated database (see `migrate`). */
  databaseUrl: string;
  /** Pool size. Default 10. */
  maxConnections?: number;
  /**
   * How long a connection may sit idle inside a transaction before Postgres ends it, in ms.
   * Default 15,000 (the default lease TTL); a worker passes its lease TTL. Every store transaction
   * sends its statements back to back, so only a frozen or cut-off client reaches it, and its row
   * locks would otherwise block the session's next lease holder for as long as it stays frozen.
   */
  idleInTransactionTimeoutMs?: number;
  /** How long a finished batch's source key is remembered, in ms. Default 24 h. */
  sourceKeyRetentionMs?: number;
  /** Input limits; defaults in DEFAULT_LIMITS. */
  limits?: Partial<Limits>;
  /** Enqueue to a session without a task-session record is allowed (true) or SessionNotFoundError (false). Default true. */
  implicitSessions?: boolean;
  /** How long closed and expired task-session records are kept before `sessions.cleanup()` removes them, in ms. Default 24 h. */
  taskSessionRetentionMs?: number;
}

export function createPostgresStore(options: PostgresStoreOptions): RuntimeStore {
  const limits = resolveLimits(options.limits);
  const sourceKeyRetentionMs = options.sourceKeyRetentionMs ?? DEFAULT_SOURCE_KEY_RETENTION_MS;
  assertNonNegativeInteger(sourceKeyRetentionMs, 'sourceKeyRetentionMs');
  const sql = createSqlClient(options.databaseUrl, {
    ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
    idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs ?? 15_000,
  });
  const clock = new StoreClock(sql);
  const taskSessionRetentionMs = options.taskSessionRetentionMs ?? DEFAULT_TASK_SESSION_RETENTION_MS;
  assertNonNegativeInteger(taskSessionRetentionMs, 'taskSessionRetentionMs');
  const ctx: PgContext = { sql, clock, limits, sourceKeyRetentionMs, implicitSessions: options.implicitSessions ?? true, taskSessionRetentionMs };
  return {
    durability: 'durable',
    leases: {
      tryClaim: (sessionId, owner, ttlMs) => leaseTryClaim(ctx, sessionId, owner, ttlMs),
      acquireAndClaimNext: (req) => leaseAcquireAndClaimNext(ctx, req),
      reclaim: (sessionId, owner, observedHolder, ttlMs) => leaseReclaim(ctx, sessionId, owner, observedHolder, ttlMs),
      renew: (fence, ttlMs) => leaseRenew(ctx, fence, ttlMs),
      renewHeld: (req) => leasesRenewHeld(ctx, req),
      release: (completion) => leaseRelease(ctx, completion),
      get: (sessionId) => leaseGet(ctx, sessionId),
      transfer: (fence, nextOwner, ttlMs) => leaseTransfer(ctx, fence, nextOwner, ttlMs),
      listLiveOnHost: (req) => leaseListLiveOnHost(ctx, req),
    },
    queue: {
      enqueue: async (draft) => (await queueEnqueue(ctx, draft)).batch,
      enqueueWithOutcome: (draft) => queueEnqueue(ctx, draft),
      claimReady: (req) => batchClaimReady(ctx, req),
      claimByBatchIds: (req) => batchClaimByIds(ctx, req),
      claimLeadingSessionCommand: (req) => batchClaimLeadingCommand(ctx, req),
      claimNext: (req) => batchClaimNext(ctx, req),
      renewClaim: (claim, ttlMs) => claimRenew(ctx, claim, ttlMs),
      abandonClaim: (claim, failure) => claimAbandon(ctx, claim, failure),
      markClaimAlone: (claim) => claimMarkAlone(ctx, claim),
      cancel: (sessionId, batchId) => batchCancel(ctx, sessionId, batchId),
      get: (batchId) => batchGet(ctx, batchId),
      scan: (req) => batchScan(ctx, req),
      list: (sessionId, page) => batchList(ctx, sessionId, false, page),
      listPending: (sessionId, page) => batchList(ctx, sessionId, true, page),
      deadLetter: (sessionId, batchId, reason) => queueDeadLetter(ctx, sessionId, batchId, reason),
      listDeadLetters: (sessionId, options) => deadLetterList(ctx, sessionId, options),
      requeueDeadLetter: (batchId, scope) => deadLetterRequeue(ctx, batchId, scope),
    },
    sessions: {
      commit: (commit) => sessionCommit(ctx, commit),
      commitAndClaimNext: (commit, next) => sessionCommitAndClaimNext(ctx, commit, next),
      load: (sessionId, scope) => sessionLoad(ctx, sessionId, scope),
      loadNode: (sessionId, nodeId) => sessionLoadNode(ctx, sessionId, nodeId),
      saveMeta: (meta) => sessionSaveMeta(ctx, meta),
      loadMeta: (sessionId) => sessionLoadMeta(ctx, sessionId),
      create: (request) => taskSessionCreate(ctx, request),
      createIfUnderCap: (request, maxActivePerAgent) => taskSessionCreateIfUnderCap(ctx, request, maxActivePerAgent),
      get: (sessionId) => taskSessionGet(ctx, sessionId),
      list: (filter) => taskSessionList(ctx, filter),
      countActiveForAgent: (agentId, tenantId) => taskSessionCountActiveForAgent(ctx, agentId, tenantId),
      tenantOf: (sessionId) => sessionTenantOf(ctx, sessionId),
      useTools: (sessionId, names, options) => taskSessionUseTools(ctx, sessionId, names, options),
      close: (sessionId, options) => taskSessionClose(ctx, sessionId, options),
      closeAllForAgent: (agentId) => taskSessionCloseAllForAgent(ctx, agentId),
      cleanup: () => taskSessionCleanup(ctx),
    },
    attachments: createManifest(ctx),
    apiKeys: {
      create: (key) => apiKeyCreate(ctx, key),
      list: (filter) => apiKeyList(ctx, filter),
      revoke: (keyId) => apiKeyRevoke(ctx, keyId),
      findByDigest: (keySha256) => apiKeyFindByDigest(ctx, keySha256),
    },
    operator: {
      listSessions: (request) => operatorListSessions(ctx, request),
      getSession: (sessionId) => operatorGetSession(ctx, sessionId),
      recentCommits: (sessionId, limit) => operatorRecentCommits(ctx, sessionId, limit),
    },
    maintenance: {
      tombstoneNodes: (sessionId, nodeIds) => nodesTombstone(ctx, sessionId, nodeIds),
      vacuum: () => storeVacuum(ctx),
      gcUnreachable: () => checkpointsCollect(ctx),
    },
    clock: { nowMs: () => clock.nowMs(), advance: (ms) => clock.advance(ms) },
    close: () => sql.end(),
  };
}
