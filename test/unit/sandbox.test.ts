/**
 * Sandboxed turns (src/runtime/sandbox/pool.ts): the handler runs in a child process, every call
 * of the turn context comes back to this process, and a handler that ends its process fails only
 * its own turn, with the exit as its reason. Real child processes; the context is a fake that
 * records what the sandbox asked of it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSandbox, SandboxStartError, TurnProcessExitedError, type Sandbox } from '../../src/runtime/sandbox/pool.js';
import { TurnAbortedError, type TurnContext, type TurnInputView } from '../../src/runtime/turn.js';
import type { AttachmentRef, JsonValue, TokenLedgerEntry } from '../../src/store/contract.js';
import { silentLogger } from '../../src/logger.js';

const FIXTURE = new URL('../fixtures/sandbox-handlers.ts', import.meta.url).href;
const sandboxes: Sandbox[] = [];

afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

function sandbox(exportName: string): Sandbox {
  const s = createSandbox({ module: FIXTURE, exportName, logLevel: 'silent' });
  sandboxes.push(s);
  return s;
}

interface Recorded {
  tools: string[][];
  usage: TokenLedgerEntry[];
  stored: Uint8Array[];
}

function fakeContext(overrides: Partial<TurnContext> = {}, controller = new AbortController()): { context: TurnContext; recorded: Recorded; controller: AbortController } {
  const recorded: Recorded = { tools: [], usage: [], stored: [] };
  const input = { batchId: 'b1', itemId: 'i1', payload: { type: 'turn_input' }, enqueueSeq: 1 } as unknown as TurnInputView;
  const context: TurnContext = {
    sessionId: 'sandboxed-session',
    turnId: 'turn:c1',
    fencingToken: 7,
    inputs: [input],
    session: null,
    signal: controller.signal,
    log: silentLogger(),
    checkpoint: async () => [input, input],
    tools: { use: async (names) => void recorded.tools.push(names) },
    usage: { record: (entry) => void recorded.usage.push(entry) },
    attachments: {
      put: async (bytes, meta): Promise<AttachmentRef> => {
        recorded.stored.push(bytes);
        return { id: 'a'.repeat(64), mediaType: meta.mediaType, byteLength: bytes.byteLength };
      },
      get: async (id) => ({ meta: { id, mediaType: 'application/octet-stream', byteLength: 3 }, bytes: recorded.stored[0]! }),
    },
    ...overrides,
  };
  return { context, recorded, controller };
}

function eventOf(result: { append: Array<{ payload: unknown }> }): Record<string, JsonValue> {
  return (result.append[0]!.payload as { event: Record<string, JsonValue> }).event;
}

describe('sandboxed turns', () => {
  it('runs the handler in another process and serves every context call from this one', async () => {
    const s = sandbox('handler');
    const { context, recorded } = fakeContext();
    const result = await s.handler(context);
    const seen = eventOf(result);
    expect(seen.pid).not.toBe(process.pid);
    expect(seen).toMatchObject({ inputs: 1, extra: 2, bytes: [1, 2, 3], session: 'sandboxed-session', fence: 7, bytesAreUint8Array: true });
    expect(recorded.tools).toEqual([['search']]);
    expect(recorded.usage).toEqual([{ source: 'test', model: 'm', usage: { inputTokens: 3, outputTokens: 4, cachedInputTokens: 0, reasoningTokens: 0 } }]);
    expect(Array.from(recorded.stored[0]!)).toEqual([1, 2, 3]);
  });

  it('keeps a process for the next turn', async () => {
    const s = sandbox('handler');
    const first = eventOf(await s.handler(fakeContext().context));
    const second = eventOf(await s.handler(fakeContext().context));
    expect(second.pid).toBe(first.pid);
    expect(s.size).toBe(1);
  });

  it('fails only the turn whose handler ends its process, with the exit code as the reason', async () => {
    const exiting = sandbox('exits');
    const err = await exiting.handler(fakeContext().context).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TurnProcessExitedError);
    expect(`${(err as Error).name}: ${(err as Error).message}`).toMatch(/^TurnProcessExitedError: .*exited with code 86/);
    // The worker process is still here, and another turn runs in a fresh sandbox process.
    const healthy = sandbox('handler');
    const [a, b] = await Promise.all([healthy.handler(fakeContext().context), exiting.handler(fakeContext().context).catch((e: unknown) => e)]);
    expect(eventOf(a).pid).not.toBe(process.pid);
    expect(b).toBeInstanceOf(TurnProcessExitedError);
  });

  it('hands a thrown error back with its name and message', async () => {
    const err = await sandbox('throws').handler(fakeContext().context).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(TurnProcessExitedError);
    expect((err as Error).name).toBe('RangeError');
    expect((err as Error).message).toBe('the handler refuses this input');
  });

  it('hands back the very error object a context call failed with, when the handler rethrows it', async () => {
    const refusal = new TurnAbortedError('session_closed');
    const { context } = fakeContext({ checkpoint: async () => Promise.reject(refusal) });
    const err = await sandbox('rethrows').handler(context).catch((e: unknown) => e);
    expect(err).toBe(refusal);
  });

  it('passes the turn signal, with its reason, to the handler', async () => {
    const { context, controller } = fakeContext();
    const running = sandbox('waitsForAbort').handler(context);
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort('lease_lost');
    expect(eventOf(await running).reason).toBe('lease_lost');
  });

  it('refuses to start when the handler export is missing, without running a turn', async () => {
    await expect(sandbox('notAFunction').start()).rejects.toBeInstanceOf(SandboxStartError);
    await expect(sandbox('notAFunction').verify()).rejects.toBeInstanceOf(SandboxStartError);
    await expect(sandbox('handler').verify()).resolves.toBeUndefined();
    await expect(createSandbox({ module: '/nonexistent/handler.js' }).verify()).rejects.toThrow(/does not load/);
    await expect(sandbox('noSuchExport').handler(fakeContext().context)).rejects.toBeInstanceOf(SandboxStartError);
  });

  it('ends busy processes on close, failing their turns', async () => {
    const s = sandbox('hangs');
    await s.start();
    const running = s.handler(fakeContext().context).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(s.size).toBe(1);
    await s.close();
    expect(await running).toBeInstanceOf(TurnProcessExitedError);
    expect(s.size).toBe(0);
  });
});
