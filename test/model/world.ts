/**
 * The two-store world of the model-based test: the in-memory reference model and the Postgres
 * store, driven by the same steps. Everything opaque that legitimately differs between them
 * (batch, claim and item ids, lease and claim tokens, enqueue sequence values) is mapped to
 * labels in order of first appearance, and every timestamp to a coarse bucket relative to the
 * store's own clock at the start of the run, so only real divergences remain.
 *
 * Why buckets are exact: every clock advance is a multiple of STEP_MS (60 s), every TTL and
 * availability delay is 0 or an odd multiple of HALF_STEP_MS (30 s), and the retention of
 * source-key memories is 150 s. Any time a store computes is therefore t0 + k·30 s + δ, where δ
 * is the wall time elapsed since the run started (well under a second; a run is refused if it
 * exceeds 30 s), so floor((t − t0) / 30 s) = k in both stores, and every expiry comparison is
 * at least 30 s − δ away from its boundary in both.
 */
import { expect } from 'vitest';
import { TurnlaneError } from '../../src/errors.js';
import type { QueuedWorkClaim, RuntimeStore, SessionLease } from '../../src/store/contract.js';

export const STEP_MS = 60_000;
export const HALF_STEP_MS = 30_000;
export const RETENTION_MS = 150_000;
const MAX_RUN_WALL_MS = 25_000;

const LABELLED_KEYS = new Set(['batchId', 'claimId', 'leaseToken', 'claimToken', 'enqueueSeq']);
const TIME_KEYS = new Set(['claimedAtMs', 'expiresAtMs', 'enqueuedAtMs', 'deadLetteredAtMs']);

/** One store with its handles: what its own earlier results returned, in the order they came. */
export class Side {
  readonly leases: SessionLease[] = [];
  readonly claims: QueuedWorkClaim[] = [];
  /** Raw batch ids in order of first appearance (the enqueue order, outbox included). */
  readonly batches: string[] = [];
  private readonly labels = new Map<string, string>();
  private readonly counters = new Map<string, number>();
  private lastSeq = 0;

  constructor(
    readonly name: string,
    readonly store: RuntimeStore,
    readonly t0: number,
  ) {}

  /** Store time `ms` after the run started (used for availability times). */
  at(ms: number): number {
    return this.t0 + ms;
  }

  private label(kind: string, raw: string | number): string {
    const key = `${kind}\u0000${raw}`;
    let label = this.labels.get(key);
    if (label === undefined) {
      const n = (this.counters.get(kind) ?? 0) + 1;
      this.counters.set(kind, n);
      label = `${kind}#${n}`;
      this.labels.set(key, label);
      if (kind === 'batchId') this.batches.push(String(raw));
      if (kind === 'enqueueSeq') {
        // A new enqueue sequence value must be larger than every one seen before in this store.
        expect(Number(raw), `${this.name}: enqueueSeq ${raw} after ${this.lastSeq}`).toBeGreaterThan(this.lastSeq);
        this.lastSeq = Number(raw);
      }
    }
    return label;
  }

  private bucket(ms: number): string {
    return `t+${Math.floor((ms - this.t0) / HALF_STEP_MS)}`;
  }

  /** The value with every opaque id, token, sequence value and time replaced (see the file comment). */
  normalize(value: unknown, key?: string): unknown {
    if (value === null || value === undefined) return value;
    if (Array.isArray(value)) return value.map((v) => this.normalize(v));
    if (typeof value === 'object') {
      if (value instanceof Uint8Array) return Array.from(value);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === undefined) continue;
        out[k] = this.normalize(v, k);
      }
      return out;
    }
    if (key === 'leaseToken' && value === '') return '';
    if (key !== undefined && LABELLED_KEYS.has(key)) return this.label(key, value as string | number);
    if (key === 'itemId' && typeof value === 'string') {
      const [batchId, index] = value.split(':item:');
      return `${this.label('batchId', batchId!)}:item:${index}`;
    }
    if (key !== undefined && TIME_KEYS.has(key) && typeof value === 'number') return this.bucket(value);
    if (key === 'availableAtMs' && typeof value === 'number') return value === 0 ? 0 : value - this.t0;
    return value;
  }
}

export const STATS = new Map<string, number>();

export type Outcome = { ok: true; value: unknown } | { ok: false; code: string; message: string };

/** Runs an operation and captures its result or typed error; anything untyped is a defect and fails at once. */
export async function capture(side: Side, op: () => Promise<unknown>): Promise<Outcome & { raw?: unknown }> {
  try {
    const raw = await op();
    return { ok: true, value: side.normalize(raw), raw };
  } catch (err) {
    if (err instanceof TurnlaneError) return { ok: false, code: err.code, message: err.message };
    throw new Error(`${side.name} threw an untyped error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err });
  }
}

export class World {
  readonly startedAt = Date.now();
  /** Shared counter for ids both stores must agree on (node ids of unstamped commits). */
  counter = 0;

  constructor(
    readonly memory: Side,
    readonly postgres: Side,
  ) {}

  get sides(): [Side, Side] {
    return [this.memory, this.postgres];
  }

  /**
   * Runs `op` on the reference model, then on Postgres, and fails on any difference in the
   * normalized result or the typed error code. Returns both raw results (undefined on error).
   */
  async both<T>(what: string, op: (side: Side) => Promise<T>): Promise<[T | undefined, T | undefined]> {
    const m = await capture(this.memory, () => op(this.memory));
    if (process.env.MODEL_STATS) {
      const k = `${what.slice(7, what.indexOf('"', 8))} ${m.ok ? (m.value === null ? 'null' : 'ok') : m.code}`;
      STATS.set(k, (STATS.get(k) ?? 0) + 1);
      if (process.env.MODEL_STATS === '2' && k === process.env.MODEL_KEY) console.log(what, m.ok ? '' : m.message, this.memory.leases.length);
    }
    const p = await capture(this.postgres, () => op(this.postgres));
    const view = (o: Outcome) => (o.ok ? { ok: true, value: o.value } : { ok: false, code: o.code });
    expect(view(p), `${what}: postgres ${p.ok ? 'returned' : `threw ${p.code} (${p.message})`}; memory ${m.ok ? 'returned' : `threw ${m.code} (${m.message})`}`).toEqual(view(m));
    expect(Date.now() - this.startedAt, 'a model run took so long that time buckets are no longer exact').toBeLessThan(MAX_RUN_WALL_MS);
    return [m.ok ? (m.raw as T) : undefined, p.ok ? (p.raw as T) : undefined];
  }
}
