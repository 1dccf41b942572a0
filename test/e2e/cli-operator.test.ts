/** The CLI's operator commands as a process: dead letters, maintenance, server start refusal. */
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

describe('turnlane CLI for operators', () => {
  it('lists and requeues dead letters', async () => {
    const batch = await f.store.queue.enqueue({ sessionId: 'cli-dead', deliveryPolicy: 'after_current_turn_commit', slotPolicy: 'exclusive', payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text: 'x' }] } }] });
    await f.store.queue.deadLetter('cli-dead', batch.batchId, 'boom from the handler');
    const letters = await cli(['dead-letters']);
    const lettersJson = await cli(['dead-letters', '--json']);
    expect(letters.stdout).toContain('boom from the handler');
    expect(JSON.parse(lettersJson.stdout)).toMatchObject([{ batchId: batch.batchId, sessionId: 'cli-dead', reason: 'boom from the handler' }]);
    const requeued = await cli(['requeue', batch.batchId, '--json']);
    expect(JSON.parse(requeued.stdout)).toMatchObject({ batchId: batch.batchId, status: 'queued' });
    expect(await f.queue.getJobState(batch.batchId)).toBe('waiting');
    expect(await cli(['requeue', batch.batchId])).toMatchObject({ code: 1, stderr: `error: INVALID_INPUT: no dead letter ${batch.batchId}\n` });
  });

  it('runs maintenance', async () => {
    const vacuum = await cli(['vacuum', '--json']);
    const gc = await cli(['gc', '--json']);
    const reconcile = await cli(['reconcile', '--json']);
    const migrate = await cli(['migrate']);
    expect(JSON.parse(vacuum.stdout)).toEqual({ removedNodeCount: 0, removedSourceKeyCount: expect.any(Number) });
    expect(JSON.parse(gc.stdout)).toMatchObject({ deletedCount: 0 });
    expect(JSON.parse(reconcile.stdout)).toMatchObject({ scanned: expect.any(Number), published: expect.any(Number) });
    expect(migrate).toMatchObject({ code: 0 });
    expect(migrate.stdout).toContain('is migrated');
  });

  it('refuses to start the server without credentials unless --insecure-local', async () => {
    const refused = await cli(['server', '--port', '0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: SERVER_CONFIG: no credentials configured.*--insecure-local.*\n$/);
    const badConfig = await cli(['sessions'], { HTTP_PORT: 'many' });
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/^error: INVALID_CONFIG: .*HTTP_PORT/);
  });
});
