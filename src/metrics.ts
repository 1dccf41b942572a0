/**
 * Prometheus metrics (prom-client), the names of spec/05-operations.md. One registry per process:
 * the API server exposes it at /metrics; `observeRuntime` fills the worker-side series from a
 * worker's RuntimeEvents in whichever process runs the worker.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RuntimeEvents } from './runtime/events.js';

/** Seconds: 1 ms to 30 s, the span from a commit to a slow model turn. */
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface Metrics {
  registry: Registry;
  turnsCommitted: Counter;
  turnDuration: Histogram;
  enqueueToStart: Histogram;
  commitDuration: Histogram;
  claimDuration: Histogram;
  leaseTakeovers: Counter;
  commitConflicts: Counter<'code'>;
  stampReplays: Counter;
  deadLetters: Counter;
  reconcilerFixes: Counter<'kind'>;
  queueDepth: Gauge<'state'>;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  enqueued: Counter;
  driverFaults: Counter<'kind'>;
}

export interface MetricsOptions {
  /** Sampled at each scrape: BullMQ job counts by state (waiting, delayed, active, failed…). */
  sampleQueue?: () => Promise<Record<string, number>>;
  /** Node process metrics (memory, event loop lag). Default true. */
  processMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'turnlane_process_' });
  const registers = [registry];
  const sampleQueue = options.sampleQueue;
  return {
    registry,
    turnsCommitted: new Counter({ name: 'turnlane_turns_committed_total', help: 'Turn commits that landed', registers }),
    turnDuration: new Histogram({ name: 'turnlane_turn_duration_seconds', help: 'Turn start (claim) to commit', buckets: SECONDS, registers }),
    enqueueToStart: new Histogram({ name: 'turnlane_enqueue_to_start_seconds', help: 'Batch enqueue to the claim that starts its turn', buckets: SECONDS, registers }),
    commitDuration: new Histogram({ name: 'turnlane_commit_duration_seconds', help: 'One turn commit transaction', buckets: SECONDS, registers }),
    claimDuration: new Histogram({ name: 'turnlane_claim_duration_seconds', help: 'One claim statement', buckets: SECONDS, registers }),
    leaseTakeovers: new Counter({ name: 'turnlane_lease_takeovers_total', help: 'Leases reclaimed from a provably dead holder', registers }),
    commitConflicts: new Counter({ name: 'turnlane_commit_conflicts_total', help: 'Commits refused, by error code', labelNames: ['code'], registers }),
    stampReplays: new Counter({ name: 'turnlane_stamp_replays_total', help: 'Stamped commits answered from the stored result', registers }),
    deadLetters: new Counter({ name: 'turnlane_dead_letters_total', help: 'Batches dead-lettered', registers }),
    reconcilerFixes: new Counter({ name: 'turnlane_reconciler_fixes_total', help: 'Delivery repairs by the reconciler', labelNames: ['kind'], registers }),
    queueDepth: new Gauge({
      name: 'turnlane_queue_depth',
      help: 'BullMQ jobs by state, sampled at scrape',
      labelNames: ['state'],
      registers,
      async collect() {
        if (!sampleQueue) return;
        this.reset();
        try {
          for (const [state, count] of Object.entries(await sampleQueue())) this.set({ state }, count);
        } catch {
          // Redis unreachable: report no sample rather than fail the scrape.
        }
      },
    }),
    httpRequests: new Counter({ name: 'turnlane_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers }),
    httpDuration: new Histogram({ name: 'turnlane_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route'], buckets: SECONDS, registers }),
    enqueued: new Counter({ name: 'turnlane_batches_enqueued_total', help: 'Batches accepted through the API', registers }),
    driverFaults: new Counter({
      name: 'turnlane_postgres_driver_faults_total',
      help: 'Postgres driver faults this process survived (src/runtime/driver-guard.ts): null_socket_write, call_deadline, pool_replaced',
      labelNames: ['kind'],
      registers,
    }),
  };
}

/** Feeds the worker-side series from a worker's events. */
export function observeRuntime(metrics: Metrics, events: RuntimeEvents): void {
  const started = new Map<string, number>();
  events.on('turn_started', ({ turnId, claim }) => {
    started.set(turnId, performance.now());
    for (const batch of claim.batches) metrics.enqueueToStart.observe(Math.max(0, claim.claimedAtMs - batch.enqueuedAtMs) / 1000);
  });
  events.on('turn_committed', (e) => {
    metrics.turnsCommitted.inc();
    metrics.commitDuration.observe(e.commitMs / 1000);
    const t = started.get(e.turnId);
    if (t !== undefined) metrics.turnDuration.observe((performance.now() - t) / 1000);
    started.delete(e.turnId);
  });
  events.on('turn_failed', (e) => {
    started.delete(e.turnId);
    metrics.deadLetters.inc(e.deadLettered.length);
  });
  events.on('commit_refused', (e) => {
    started.delete(e.turnId);
    metrics.commitConflicts.inc({ code: e.code });
  });
  events.on('lease_takeover', () => metrics.leaseTakeovers.inc());
  events.on('reconciled', (r) => {
    metrics.reconcilerFixes.inc({ kind: 'published' }, r.published);
    metrics.reconcilerFixes.inc({ kind: 'republished' }, r.republished);
    metrics.reconcilerFixes.inc({ kind: 'dead_lettered' }, r.deadLettered);
  });
}
