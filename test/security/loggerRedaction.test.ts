/**
 * src/logger.ts: lease and claim tokens never reach the output, wherever they sit in a logged
 * object (top level, nested fences and claims, arrays of claims, error details), and the rest of
 * the line survives.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { SessionLeaseExpiredError } from '../../src/errors.js';

function capture(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

const LEASE = 'LEASEtokenAAAAAAAAAAAAA';
const CLAIM = 'CLAIMtokenBBBBBBBBBBBBB';

describe('logger redaction', () => {
  it('removes tokens at any depth, in arrays and in error details, and keeps the rest', () => {
    const out = capture();
    const log = createLogger({ level: 'debug', destination: out.stream });
    const fence = { sessionId: 's', owner: { ownerId: 'o', incarnationId: 'i' }, leaseToken: LEASE, fencingToken: 3 };
    const claim = { sessionId: 's', claimId: 'c_1', claimToken: CLAIM, fencingToken: 1, batches: [] };
    log.info({ leaseToken: LEASE, claimToken: CLAIM }, 'top level');
    log.info({ fence }, 'a fence');
    log.info({ commit: { leaseFence: fence, releaseLease: fence } }, 'a commit');
    log.info({ turn: { commit: { leaseFence: fence, completedQueueClaims: [claim] } } }, 'deep');
    log.info({ claims: [claim, claim] }, 'an array of claims');
    log.debug({ lease: { ...fence, claimedAtMs: 1, expiresAtMs: 2 } }, 'a lease');
    log.warn({ err: new SessionLeaseExpiredError('not live', { fence }) }, 'an error carrying a fence');
    log.child({ sessionId: 's', fence }).info('a child bound to a fence');
    const text = out.text();
    expect(text).not.toContain(LEASE);
    expect(text).not.toContain(CLAIM);
    // The lines are still there, with their ids.
    for (const msg of ['top level', 'a fence', 'a commit', 'deep', 'an array of claims', 'a lease', 'an error carrying a fence', 'a child bound to a fence']) {
      expect(text).toContain(msg);
    }
    expect(text).toContain('c_1');
    expect(text.split('\n').filter(Boolean)).toHaveLength(8);
  });
});
