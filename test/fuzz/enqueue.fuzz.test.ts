/**
 * Fuzzing of `store.queue.enqueue` on both stores (spec 06 "Bad input"): arbitrary JSON and
 * near-valid drafts (odd ids, oversized payloads, wrong types, unicode). Every call either
 * returns a well-formed queued batch or throws InvalidInputError; a refusal writes nothing; the
 * store keeps serving afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import type { QueuedWorkBatch, QueuedWorkBatchDraft, RuntimeStore } from '../../src/store/contract.js';
import { createInMemoryStore } from '../../src/store/memory/index.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const RUNS = Number(process.env.TURNLANE_FUZZ_RUNS ?? 300);
/** Small limits, so oversized input is cheap to make. */
const LIMITS = { maxPayloadsPerBatch: 8, maxBatchBytes: 4096, maxSourceKeyLength: 64, maxMergeKeyLength: 64 };

let db: TestDatabase;
const stores: Array<{ name: string; store: RuntimeStore }> = [];

beforeAll(async () => {
  db = await createTestDatabase();
  stores.push({ name: 'memory', store: createInMemoryStore({ limits: LIMITS }) });
  stores.push({ name: 'postgres', store: createPostgresStore({ databaseUrl: db.url, maxConnections: 2, limits: LIMITS }) });
});

afterAll(async () => {
  for (const { store } of stores) await store.close();
  await db?.drop();
});

function validDraft(sessionId = 'fuzz'): QueuedWorkBatchDraft {
  return {
    sessionId,
    deliveryPolicy: 'after_current_turn_commit',
    slotPolicy: 'join',
    mergeKey: { kind: 'group', key: 'g' },
    sourceKey: 'k',
    availableAtMs: 0,
    payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text: 'hello' }] } }],
  };
}

const oddStrings = fc.oneof(
  fc.constantFrom('', ' ', 'a'.repeat(129), 'a'.repeat(300), 'x'.repeat(5000), '\u0000', 'a\u0000b', '\ud800', 'a\udfffb', '😀', 'é', '../etc/passwd',
    "'; drop table queued_batches; --", '<img src=x onerror=alert(1)>', '%00', '\\', '"', '\n', 'ＡＢＣ', '\u202e', 'null', '__proto__', 'constructor'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);
const wrongTypes = fc.oneof(
  fc.constantFrom<unknown>(null, undefined, true, 0, -1, 1.5, NaN, Infinity, -0, 2 ** 53, [], {}, [1], { kind: 'group' }),
  fc.anything({ maxDepth: 2 }),
);
const oddValue = fc.oneof(oddStrings, wrongTypes);

const FIELDS = ['sessionId', 'deliveryPolicy', 'slotPolicy', 'mergeKey', 'sourceKey', 'availableAtMs', 'payloads'] as const;

/** A valid draft with one part replaced by something odd. */
const nearValid: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ field: fc.constantFrom(...FIELDS), value: oddValue }).map(({ field, value }) => ({ ...validDraft(), [field]: value })),
  oddStrings.map((key) => ({ ...validDraft(), mergeKey: { kind: 'group', key } })),
  oddStrings.map((text) => ({ ...validDraft(), payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text }] } }] })),
  oddStrings.map((attachmentId) => ({ ...validDraft(), payloads: [{ type: 'turn_input', input: { items: [{ type: 'image_ref', attachmentId }] } }] })),
  oddValue.map((item) => ({ ...validDraft(), payloads: [{ type: 'turn_input', input: { items: [item] } }] })),
  oddValue.map((payload) => ({ ...validDraft(), payloads: [payload] })),
  fc.nat({ max: 20 }).map((n) => ({ ...validDraft(), payloads: Array.from({ length: n }, () => validDraft().payloads[0]) })),
  fc.integer({ min: 4000, max: 6000 }).map((n) => ({ ...validDraft(), payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text: 'é'.repeat(n / 2) }] } }] })),
  fc.record({ sessionId: oddStrings, extra: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) }).map(({ sessionId, extra }) => ({ ...extra, ...validDraft(), sessionId })),
  fc.record({
    wake: fc.record({
      wakeId: oddStrings, targetSessionId: oddStrings, targetScopeId: oddStrings, processId: oddStrings,
      sequence: fc.oneof(fc.integer(), fc.double()), eventType: oddStrings, dedupeKey: oddStrings, input: oddStrings, createdAtMs: fc.oneof(fc.integer(), fc.double()),
    }),
  }).map(({ wake }) => ({ ...validDraft(), payloads: [{ type: 'process_wake', wake }] })),
  fc.record({ kind: oddValue, reason: oddValue }).map((command) => ({ ...validDraft(), payloads: [{ type: 'session_command', command }] })),
);

const anyInput: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.anything({ maxDepth: 3 }), nearValid, nearValid);

function expectWellFormed(batch: QueuedWorkBatch, draft: Record<string, unknown>): void {
  expect(batch.sessionId).toBe(draft.sessionId);
  expect(batch.status).toBe('queued');
  expect(batch.items.length).toBeGreaterThan(0);
  expect(Number.isSafeInteger(batch.enqueueSeq)).toBe(true);
}

async function footprint(store: RuntimeStore): Promise<number> {
  return (await store.queue.scan({ afterEnqueueSeq: 0, limit: 10_000 })).length;
}

describe('fuzz: enqueue', () => {
  for (const backend of ['memory', 'postgres']) {
    it(`${backend}: only InvalidInputError or a valid batch; a refusal writes nothing; the store keeps serving`, async () => {
      const { store } = stores.find((s) => s.name === backend)!;
      let sourceKeySerial = 0;
      // A generator can repeat a constant source key across runs: the second is a replay of the first.
      const accepted = new Map<string, string>();
      await fc.assert(
        fc.asyncProperty(anyInput, async (input) => {
          // A fresh source key per run, so a valid draft is written rather than answered from memory.
          if (typeof input === 'object' && input !== null && !Array.isArray(input) && (input as { sourceKey?: unknown }).sourceKey === 'k') {
            (input as { sourceKey: string }).sourceKey = `k${sourceKeySerial++}`;
          }
          const before = await footprint(store);
          let result: QueuedWorkBatch | undefined;
          try {
            result = await store.queue.enqueue(input as QueuedWorkBatchDraft);
          } catch (err) {
            expect(err, `${backend} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`).toBeInstanceOf(InvalidInputError);
            expect((err as InvalidInputError).code).toBe('INVALID_INPUT');
            expect(await footprint(store), 'a refused enqueue wrote a batch').toBe(before);
            return;
          }
          expectWellFormed(result, input as Record<string, unknown>);
          const key = result.sourceKey === null ? undefined : JSON.stringify([result.sessionId, result.sourceKey]);
          const first = key === undefined ? undefined : accepted.get(key);
          if (first !== undefined) {
            expect(result.batchId, 'a source-key replay returns the first batch').toBe(first);
            expect(await footprint(store), 'a source-key replay wrote a batch').toBe(before);
            return;
          }
          if (key !== undefined) accepted.set(key, result.batchId);
          expect(await footprint(store)).toBe(before + 1);
        }),
        { numRuns: RUNS },
      );
      // Still serving: a valid enqueue works and reads back.
      const ok = await store.queue.enqueue({ ...validDraft('after-fuzz'), sourceKey: 'after' });
      expect((await store.queue.list('after-fuzz')).map((b) => b.batchId)).toEqual([ok.batchId]);
    }, 60_000);
  }
});
