import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RuntimeCommit } from '../../src/store/contract.js';
import { canonicalJson, turnCommitHash } from '../../src/store/hash.js';

function baseCommit(): RuntimeCommit {
  return {
    sessionId: 'root',
    state: {
      graph: { kind: 'append', nodes: [{ nodeId: 'n1', parentNodeId: null, timestamp: 5, payload: { kind: 'message', role: 'user', parts: ['hi'] } }], leafNodeId: 'n1' },
      checkpoint: { turnIndex: 3, executionState: new Uint8Array([1, 2, 3, 250]), data: { b: 1, a: [true, null] } },
      agentFrames: [{ frameId: 'f1', sessionId: 'root', parentFrameId: null, reason: 'initial', executionStateSnapshot: new Uint8Array([9]) }],
      currentAgentFrameId: 'f1',
    },
    usageDeltas: [{ source: 'turn', model: 'm', usage: { inputTokens: 1, outputTokens: 2, cachedInputTokens: 0, reasoningTokens: 0 } }],
    completedQueueClaims: [{ sessionId: 'root', claimId: 'c1', claimToken: 't1', batchIds: ['b1'] }],
    enqueueBatches: [{ sessionId: 'root', deliveryPolicy: 'after_current_turn_commit', slotPolicy: 'exclusive', payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text: 'x' }] } }] }],
    committedAttachmentIds: ['att-1'],
  };
}

/** Rebuilds a value with every object's keys in reverse insertion order. */
function reverseKeys<T>(value: T): T {
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(reverseKeys) as T;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)])) as T;
}

const fence = { sessionId: 'root', owner: { ownerId: 'w', incarnationId: 'i' }, leaseToken: 'tok', fencingToken: 4 };

describe('turnCommitHash', () => {
  it('is 64 characters of lowercase hex: the SHA-256 of the canonical JSON', () => {
    const hash = turnCommitHash(baseCommit());
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(createHash('sha256').update(canonicalJson(baseCommit())).digest('hex'));
  });

  it('does not depend on key order', () => {
    const reordered = reverseKeys(baseCommit());
    expect(Object.keys(reordered)[0]).not.toBe('sessionId');
    expect(turnCommitHash(reordered)).toBe(turnCommitHash(baseCommit()));
  });

  it('excludes the fence, the CAS revision, the stamp and the release', () => {
    const hash = turnCommitHash(baseCommit());
    expect(turnCommitHash({ ...baseCommit(), leaseFence: fence })).toBe(hash);
    expect(turnCommitHash({ ...baseCommit(), releaseLease: fence })).toBe(hash);
    expect(turnCommitHash({ ...baseCommit(), expectedHeadRevision: 7 })).toBe(hash);
    expect(turnCommitHash({ ...baseCommit(), expectedHeadRevision: null })).toBe(hash);
    expect(turnCommitHash({ ...baseCommit(), turnStamp: { sessionId: 'root', turnId: 't', hash: 'abc' } })).toBe(hash);
  });

  it('omits undefined fields', () => {
    expect(turnCommitHash({ ...baseCommit(), usageDeltas: undefined })).toBe(turnCommitHash((({ usageDeltas: _u, ...rest }) => rest)(baseCommit())));
  });

  it('changes with any change of content', () => {
    const hash = turnCommitHash(baseCommit());
    const variants: Array<(c: RuntimeCommit) => void> = [
      (c) => { c.sessionId = 'other'; },
      (c) => { c.state.checkpoint.turnIndex = 4; },
      (c) => { c.state.checkpoint.executionState = new Uint8Array([1, 2, 3, 251]); },
      (c) => { c.state.checkpoint.data = { b: 1, a: [true, false] }; },
      (c) => { c.state.agentFrames[0]!.reason = 'plan_mode'; },
      (c) => { c.state.agentFrames[0]!.executionStateSnapshot = new Uint8Array([8]); },
      (c) => { c.state.currentAgentFrameId = null; },
      (c) => { c.state.graph.leafNodeId = null; },
      (c) => { c.usageDeltas![0]!.usage.inputTokens = 2; },
      (c) => { c.completedQueueClaims![0]!.batchIds = ['b2']; },
      (c) => { c.enqueueBatches![0]!.sourceKey = 'k'; },
      (c) => { c.committedAttachmentIds = []; },
    ];
    const seen = new Set([hash]);
    for (const change of variants) {
      const commit = baseCommit();
      change(commit);
      const changed = turnCommitHash(commit);
      expect(changed).not.toBe(hash);
      seen.add(changed);
    }
    expect(seen.size).toBe(variants.length + 1);
  });

  it('encodes byte arrays as base64', () => {
    const bytes = new Uint8Array([0, 255, 16, 32]);
    expect(canonicalJson(bytes)).toBe(JSON.stringify(Buffer.from(bytes).toString('base64')));
    // A view into a larger buffer encodes only its own bytes.
    const view = new Uint8Array(new Uint8Array([7, 0, 255, 16, 32, 7]).buffer, 1, 4);
    expect(canonicalJson(view)).toBe(canonicalJson(bytes));
    // The same bytes as a Buffer or as a Uint8Array hash the same; bytes and a number array differ.
    const withBuffer = baseCommit();
    withBuffer.state.checkpoint.executionState = Buffer.from([1, 2, 3, 250]);
    expect(turnCommitHash(withBuffer)).toBe(turnCommitHash(baseCommit()));
    // Bytes encode exactly as their base64 string would.
    expect(canonicalJson({ state: bytes })).toBe(canonicalJson({ state: Buffer.from(bytes).toString('base64') }));
    expect(canonicalJson({ state: bytes })).not.toBe(canonicalJson({ state: Array.from(bytes) }));
  });

  it('sorts keys and drops whitespace in canonical JSON', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x'], c: null }, e: undefined })).toBe('{"a":{"c":null,"d":[1,"x"]},"b":1}');
  });
});
