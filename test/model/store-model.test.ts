/**
 * Model-based test (spec 06 "Reliability"): random step sequences run against the in-memory
 * reference model and the Postgres store side by side. Any difference in a result, in a typed
 * error code, or in the final state fails the run with the shrunk sequence.
 *
 * One database for the whole file; each run starts from TRUNCATE of every table
 * and a fresh in-memory store. TURNLANE_MODEL_RUNS sets the number of runs (default 100).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeStore } from '../../src/store/contract.js';
import { createInMemoryStore } from '../../src/store/memory/index.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { truncateAllTables } from '../../db/databases.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { runStep, SESSIONS, stepArbitrary, type Step } from './steps.js';
import { RETENTION_MS, Side, STATS, World } from './world.js';

const RUNS = Number(process.env.TURNLANE_MODEL_RUNS ?? 100);
const MAX_STEPS = Number(process.env.TURNLANE_MODEL_STEPS ?? 50);

let db: TestDatabase;
let pg: RuntimeStore;

beforeAll(async () => {
  db = await createTestDatabase();
  pg = createPostgresStore({ databaseUrl: db.url, maxConnections: 2, sourceKeyRetentionMs: RETENTION_MS });
});

afterAll(async () => {
  await pg?.close();
  await db?.drop();
});

class StepCommand implements fc.AsyncCommand<object, World> {
  constructor(readonly step: Step) {}
  check(): boolean {
    return true;
  }
  async run(_model: object, world: World): Promise<void> {
    await runStep(world, this.step);
  }
  toString(): string {
    return JSON.stringify(this.step);
  }
}

/** Everything observable at the end of a run, normalized per store. */
async function finalState(side: Side): Promise<unknown> {
  const { store } = side;
  const perSession: Record<string, unknown> = {};
  for (const s of SESSIONS) {
    const lease = await store.leases.get(s);
    perSession[s] = {
      list: side.normalize(await store.queue.list(s)),
      listPending: side.normalize(await store.queue.listPending(s)),
      load: side.normalize(await store.sessions.load(s, { kind: 'full_graph' })),
      activePath: side.normalize(await store.sessions.load(s, { kind: 'active_path' })),
      // Without its token: a live holder shows as held, a released one as not.
      lease: lease && side.normalize({ ...lease, leaseToken: lease.leaseToken === '' ? 'released' : 'held' }),
    };
  }
  // Dead letters made in the same millisecond order by enqueueSeq in one store and by a
  // one-millisecond later database clock in the other; both follow the contract's order, so
  // compare them in a jitter-free order: time bucket, then the batch's label.
  const deadLetters = (side.normalize(await store.queue.listDeadLetters()) as Array<{ deadLetteredAtMs: string; batchId: string }>).sort(
    (a, b) => a.deadLetteredAtMs.localeCompare(b.deadLetteredAtMs) || a.batchId.localeCompare(b.batchId),
  );
  const scan = side.normalize(await store.queue.scan({ afterEnqueueSeq: 0, limit: 1000 }));
  return { perSession, deadLetters, scan };
}

async function freshWorld(): Promise<World> {
  await truncateAllTables(db.url);
  const memory = createInMemoryStore({ sourceKeyRetentionMs: RETENTION_MS });
  return new World(new Side('memory', memory, await memory.clock.nowMs()), new Side('postgres', pg, await pg.clock.nowMs()));
}

async function expectSameFinalState(world: World): Promise<void> {
  const [m, p] = await Promise.all(world.sides.map(finalState));
  expect(p, 'final state').toEqual(m);
}

/** Runs one fixed sequence (a shrunk counterexample kept as a regression test). */
export async function replaySteps(steps: Step[]): Promise<void> {
  const world = await freshWorld();
  for (const step of steps) await runStep(world, step);
  await expectSameFinalState(world);
}

describe('model: Postgres store against the in-memory reference model', () => {
  it(`agrees on ${RUNS} random sequences of up to ${MAX_STEPS} steps`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands([stepArbitrary.map((step) => new StepCommand(step))], { maxCommands: MAX_STEPS, size: 'max' }), async (commands) => {
        const world = await freshWorld();
        await fc.asyncModelRun(() => ({ model: {}, real: world }), commands);
        await expectSameFinalState(world);
      }),
      {
        numRuns: RUNS,
        verbose: 1,
        ...(process.env.TURNLANE_MODEL_SEED ? { seed: Number(process.env.TURNLANE_MODEL_SEED) } : {}),
      },
    );
    if (process.env.MODEL_STATS) console.log([...STATS.entries()].sort().map(([k, v]) => `${k}: ${v}`).join('\n'));
  }, Math.max(120_000, RUNS * 2_000));

  // TURNLANE_MODEL_REPLAY='[{"op":…},…]' replays a printed counterexample step by step.
  it.runIf(process.env.TURNLANE_MODEL_REPLAY)('replays TURNLANE_MODEL_REPLAY', async () => {
    await replaySteps(JSON.parse(process.env.TURNLANE_MODEL_REPLAY!) as Step[]);
  });
});
