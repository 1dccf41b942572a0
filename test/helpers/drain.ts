/**
 * Runs `drainSession` in the test process with the worker's defaults (TTL 30 s, 16 turns per
 * lease, 16 batches per turn, 3 attempts, no shutdown, silent log), overridable per test.
 */
import { drainSession, type DrainOptions, type DrainReport } from '../../src/runtime/drain.js';
import { RuntimeEvents } from '../../src/runtime/events.js';
import type { TurnHandler } from '../../src/runtime/turn.js';
import { silentLogger } from '../../src/logger.js';
import { createInMemoryAttachmentStore } from '../../src/store/attachments/index.js';
import type { LeaseOwner, RuntimeStore, SessionLease } from '../../src/store/contract.js';

export function drainForTest(store: RuntimeStore, owner: LeaseOwner, lease: SessionLease, handler: TurnHandler, overrides: Partial<DrainOptions> = {}): Promise<DrainReport> {
  return drainSession({
    store,
    handler,
    owner,
    lease,
    leaseTtlMs: 30_000,
    maxTurnsPerLease: 16,
    maxBatchesPerTurn: 16,
    maxAttempts: 3,
    attachments: createInMemoryAttachmentStore(),
    shutdown: new AbortController().signal,
    hardStop: new AbortController().signal,
    useTools: async () => {},
    events: new RuntimeEvents(),
    log: silentLogger(),
    ...overrides,
  });
}
