/**
 * A sandbox process: runs turn handlers one turn at a time for a worker, which forks it with an
 * IPC channel (src/runtime/sandbox/pool.ts). Everything the handler does to the world beyond its
 * own return value goes back to the worker: checkpoints, tool policy, attachments, usage. If the
 * handler ends this process, only the turn it was running ends with it.
 */
import { createLogger } from '../../logger.js';
import { TurnAbortedError, type TurnAbortReason, type TurnContext, type TurnHandler } from '../turn.js';
import type { FromSandbox, SandboxArgs, SandboxCall, SandboxTurn, ToSandbox, WireError } from './protocol.js';

const args = JSON.parse(process.argv[2] ?? '{}') as SandboxArgs;
const log = createLogger({ level: args.logLevel, base: { role: 'sandbox', pid: process.pid } });

const send = (message: FromSandbox) => process.send!(message);
const pending = new Map<number, { resolve(value: unknown): void; reject(err: unknown): void }>();
/** Errors the worker sent, by object, so a handler that rethrows one hands the worker its own error back. */
const received = new WeakMap<object, number>();
let nextCallId = 0;
let aborter: AbortController | null = null;

function call(request: SandboxCall): Promise<unknown> {
  const id = nextCallId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    send({ type: 'call', id, call: request });
  });
}

function fromWire(wire: WireError): Error {
  const err = wire.name === 'TurnAbortedError' ? new TurnAbortedError(wire.reason as TurnAbortReason) : Object.assign(new Error(wire.message), { name: wire.name }, wire.code ? { code: wire.code } : {});
  if (wire.ref !== undefined) received.set(err, wire.ref);
  return err;
}

function toWire(err: unknown): WireError {
  if (typeof err === 'object' && err !== null && received.has(err)) {
    const e = err as Error;
    return { ref: received.get(err)!, name: e.name, message: e.message };
  }
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}

function contextFor(turn: SandboxTurn, signal: AbortSignal): TurnContext {
  return {
    sessionId: turn.sessionId,
    turnId: turn.turnId,
    fencingToken: turn.fencingToken,
    inputs: turn.inputs,
    session: turn.session,
    signal,
    log: log.child(turn.logBindings),
    checkpoint: () => call({ op: 'checkpoint' }) as ReturnType<TurnContext['checkpoint']>,
    tools: { use: async (names, declared) => void (await call({ op: 'tools.use', names, ...(declared ? { declared } : {}) })) },
    usage: { record: (entry) => send({ type: 'usage', entry }) },
    attachments: {
      put: (bytes, meta) => call({ op: 'attachments.put', bytes, meta }) as ReturnType<TurnContext['attachments']['put']>,
      get: (id) => call({ op: 'attachments.get', id }) as ReturnType<TurnContext['attachments']['get']>,
    },
  };
}

async function run(handler: TurnHandler, turn: SandboxTurn): Promise<void> {
  aborter = new AbortController();
  try {
    const result = await handler(contextFor(turn, aborter.signal));
    send({ type: 'done', ok: true, result });
  } catch (err) {
    send({ type: 'done', ok: false, error: toWire(err) });
  } finally {
    aborter = null;
  }
}

async function main(): Promise<void> {
  const loaded = (await import(args.moduleUrl)) as Record<string, unknown>;
  const handler = loaded[args.exportName];
  if (typeof handler !== 'function') throw new Error(`sandbox: ${args.moduleUrl} has no function export named ${args.exportName}`);
  process.on('message', (message: ToSandbox) => {
    if (message.type === 'run') void run(handler as TurnHandler, message.turn);
    else if (message.type === 'abort') aborter?.abort(message.reason);
    else {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.value);
      else waiter?.reject(fromWire(message.error));
    }
  });
  // The worker is gone: nobody can commit what this process would compute.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

void main();
