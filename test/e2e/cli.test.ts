/** The CLI as a process (`bin/turnlane.mjs`): output, --json, one-line errors and exit codes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntimeFixture, type RuntimeFixture } from '../helpers/runtime.js';
import { runCli, type CliResult } from '../helpers/cli.js';

let f: RuntimeFixture;

beforeAll(async () => {
  f = await createRuntimeFixture();
});
afterAll(async () => {
  await f?.cleanup();
});

function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(f, args, env);
}

describe('turnlane CLI', () => {
  let batchId = '';

  it('enqueues with a source key, joins with a merge key, and shows sessions and queues', async () => {
    const first = await cli(['enqueue', 'cli-s1', 'hello there', '--key', 'k1', '--json']);
    expect(first.code).toBe(0);
    const batch = JSON.parse(first.stdout);
    batchId = batch.batchId;
    expect(batch).toMatchObject({ sessionId: 'cli-s1', sourceKey: 'k1', status: 'queued' });
    // The producer published the BullMQ job too.
    expect(await f.queue.getJobState(batch.batchId)).toBe('waiting');
    // Issue 13 item 8: the same key with another text is refused; the same request again is a replay and says so.
    const reused = await cli(['enqueue', 'cli-s1', 'changed', '--key', 'k1']);
    expect(reused.code).toBe(1);
    expect(reused.stderr).toMatch(/^error: IDEMPOTENCY_KEY_REUSED: /);
    const replay = await cli(['enqueue', 'cli-s1', 'hello there', '--key', 'k1']);
    expect(replay).toMatchObject({ code: 0, stdout: `replayed (already accepted under this key) ${batch.batchId} (session cli-s1, seq ${batch.enqueueSeq}, queued)\n` });
    const joined = await cli(['enqueue', 'cli-s1', 'join me', '--slot', 'join', '--merge-key', 'g1', '--delivery', 'earliest_safe_boundary', '--json']);
    expect(JSON.parse(joined.stdout)).toMatchObject({ slotPolicy: 'join', mergeKey: { kind: 'group', key: 'g1' }, deliveryPolicy: 'earliest_safe_boundary' });

    const sessions = await cli(['sessions']);
    expect(sessions.code).toBe(0);
    expect(sessions.stdout.split('\n')[0]).toMatch(/^session\s+status\s+lease holder\s+fencing\s+queue/);
    expect(sessions.stdout.split('\n')[2]).toMatch(/^cli-s1\s+implicit\s+-\s+-\s+2\s/);
    const queue = await cli(['queue', 'cli-s1']);
    expect(queue.stdout).toContain('hello there');
    expect(queue.stdout).toMatch(/join\s+g1\s+pending\s+join me/);
    const session = await cli(['session', 'cli-s1', '--json']);
    expect(JSON.parse(session.stdout)).toMatchObject({ sessionId: 'cli-s1', status: 'implicit', queueDepth: 2, headRevision: 0, recentCommits: [] });
  });

  it('cancels once, then reports errors on one line with non-zero exit codes', async () => {
    const cancelled = await cli(['cancel', 'cli-s1', batchId]);
    expect(cancelled).toMatchObject({ code: 0, stderr: '' });
    expect(cancelled.stdout).toContain(`cancelled ${batchId}`);
    const again = await cli(['cancel', 'cli-s1', batchId]);
    expect(again).toMatchObject({ code: 1, stderr: `error: INVALID_INPUT: no queued batch ${batchId} in session cli-s1\n` });
    const missing = await cli(['session', 'nobody']);
    expect(missing).toMatchObject({ code: 1, stderr: 'error: SESSION_NOT_FOUND: no session nobody\n' });
    const badOption = await cli(['enqueue', 's', 'x', '--slot', 'sideways']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain('sideways');
  });
});
