/**
 * Sandboxed turns: the turn handler runs in a child process of the worker (src/runtime/sandbox/
 * child.ts), one turn at a time per process, so a handler that ends its process (process.exit, a
 * native crash, running out of memory) ends only the turn it was running. The worker stays up
 * with its leases, claims and connections, knows exactly which turn died, and counts one failed
 * attempt on that turn's batches with the reason ("exited with code 86"): no takeover, nothing
 * charged to other turns. Its batches become suspects (src/store/reasons.ts endedItsProcess), so
 * with TURN_SANDBOX=suspects their next turn runs in a sandbox again. Idle processes are kept.
 *
 * The handler module is loaded in the sandbox by URL and must export the handler
 * (`export const handler: TurnHandler`, or another name given as `exportName`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { pathToFileURL, fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { silentLogger } from '../../logger.js';
import type { TurnContext, TurnHandler, TurnResult } from '../turn.js';
import type { FromSandbox, SandboxArgs, SandboxCall, SandboxTurn, ToSandbox, WireError } from './protocol.js';

export interface SandboxOptions {
  /** The handler's module: a file path or file URL. */
  module: string;
  /** The export holding the TurnHandler. Default `handler`. */
  exportName?: string;
  /** Idle sandbox processes kept for later turns. Default 16. */
  maxIdle?: number;
  /** Log level of the sandboxes' own loggers. Default `info`. */
  logLevel?: string;
  /** Environment of the sandbox processes on top of this process's. */
  env?: Record<string, string>;
  /** Node flags of the sandbox processes (say `--max-old-space-size=512`); this process's are not inherited. */
  execArgv?: string[];
  log?: Logger;
}

/** The turn's sandbox process ended before the handler returned: the turn failed. */
export class TurnProcessExitedError extends Error {
  override readonly name = 'TurnProcessExitedError';
  readonly code = 'TURN_PROCESS_EXITED';
}

/** A sandbox process could not be started: not the input's fault, so no attempt is counted. */
export class SandboxStartError extends Error {
  override readonly name = 'SandboxStartError';
  readonly code = 'SANDBOX_START_FAILED';
}

export interface Sandbox {
  /** Runs the turn in a sandbox process. */
  readonly handler: TurnHandler;
  /** Starts `count` sandbox processes (default 1) and keeps them idle: fails now if the handler module does not load. */
  start(count?: number): Promise<void>;
  /** Loads the handler module in this process and checks its export: fails now, without a sandbox process, if it would not load there. */
  verify(): Promise<void>;
  /** Ends every sandbox process, busy or idle. */
  close(): Promise<void>;
  /** Sandbox processes alive, busy and idle. */
  readonly size: number;
}

const ext = fileURLToPath(import.meta.url).endsWith('.ts') ? '.ts' : '.js';
const CHILD_ENTRY = fileURLToPath(new URL(`./child${ext}`, import.meta.url));

/** One sandbox process. `onMessage` belongs to the turn it runs, if any. */
class SandboxProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<string>;
  onMessage: ((message: FromSandbox) => void) | null = null;
  onExit: ((how: string) => void) | null = null;

  constructor(args: SandboxArgs, env: Record<string, string>, extraExecArgv: string[]) {
    // Node flags are not inherited (an --eval or --inspect of the worker would break every sandbox):
    // TypeScript sources (tests, tsx) need tsx, compiled workers nothing, and `execArgv` adds more.
    const execArgv = [...(ext === '.ts' ? ['--import', 'tsx'] : []), ...extraExecArgv];
    this.child = fork(CHILD_ENTRY, [JSON.stringify(args)], { execArgv, env: { ...process.env, ...env }, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`)));
    this.child.on('message', (message: FromSandbox) => this.onMessage?.(message));
    void this.exited.then((how) => this.onExit?.(how));
    this.ready = new Promise((resolve, reject) => {
      const onReady = (message: FromSandbox) => {
        if (message.type !== 'ready') return;
        this.child.off('message', onReady);
        resolve();
      };
      this.child.on('message', onReady);
      void this.exited.then((how) => reject(new SandboxStartError(`the sandbox process ${how} before it was ready (handler module ${args.moduleUrl})`)));
    });
    this.ready.catch(() => {});
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.connected;
  }

  send(message: ToSandbox): void {
    if (this.alive()) this.child.send(message);
  }

  /** Idle processes do not keep the worker's event loop alive. */
  hold(busy: boolean): void {
    if (busy) {
      this.child.ref();
      this.child.channel?.ref();
    } else {
      this.child.unref();
      this.child.channel?.unref();
    }
  }
}

export function createSandbox(options: SandboxOptions): Sandbox {
  const log = options.log ?? silentLogger();
  const maxIdle = options.maxIdle ?? 16;
  const args: SandboxArgs = {
    moduleUrl: options.module.startsWith('file:') ? options.module : pathToFileURL(options.module).href,
    exportName: options.exportName ?? 'handler',
    logLevel: options.logLevel ?? 'info',
  };
  const idle: SandboxProcess[] = [];
  const all = new Set<SandboxProcess>();
  let closed = false;

  function spawn(): SandboxProcess {
    const proc = new SandboxProcess(args, options.env ?? {}, options.execArgv ?? []);
    all.add(proc);
    void proc.exited.then(() => {
      all.delete(proc);
      const at = idle.indexOf(proc);
      if (at >= 0) idle.splice(at, 1);
    });
    return proc;
  }

  function putBack(proc: SandboxProcess): void {
    if (!closed && proc.alive() && idle.length < maxIdle) {
      proc.hold(false);
      idle.push(proc);
    } else proc.child.kill('SIGKILL');
  }

  async function handler(context: TurnContext): Promise<TurnResult> {
    if (closed) throw new SandboxStartError('the sandbox is closed');
    let proc = idle.pop();
    while (proc && !proc.alive()) proc = idle.pop();
    proc ??= spawn();
    proc.hold(true);
    try {
      await proc.ready;
    } catch (err) {
      proc.child.kill('SIGKILL');
      throw err;
    }
    const sentErrors = new Map<number, unknown>();
    const toWire = (err: unknown): WireError => {
      const ref = sentErrors.size;
      sentErrors.set(ref, err);
      const e = err instanceof Error ? err : new Error(String(err));
      const extra = err as { code?: unknown; reason?: unknown };
      return { ref, name: e.name, message: e.message, ...(typeof extra.code === 'string' ? { code: extra.code } : {}), ...(typeof extra.reason === 'string' ? { reason: extra.reason } : {}) };
    };
    const fromWire = (wire: WireError): unknown => (wire.ref !== undefined && sentErrors.has(wire.ref) ? sentErrors.get(wire.ref) : Object.assign(new Error(wire.message), { name: wire.name }, wire.code ? { code: wire.code } : {}));

    const onAbort = () => proc.send({ type: 'abort', reason: String(context.signal.reason) });
    try {
      return await new Promise<TurnResult>((resolve, reject) => {
        proc.onMessage = (message) => {
          if (message.type === 'done') {
            if (message.ok) resolve(message.result);
            else reject(fromWire(message.error));
          } else if (message.type === 'usage') context.usage.record(message.entry);
          else if (message.type === 'call') {
            serve(context, message.call).then(
              (value) => proc.send({ type: 'reply', id: message.id, ok: true, value }),
              (err: unknown) => proc.send({ type: 'reply', id: message.id, ok: false, error: toWire(err) }),
            );
          }
        };
        proc.onExit = (how) => reject(new TurnProcessExitedError(`the turn's sandbox process ${how} during the turn`));
        const turn: SandboxTurn = {
          sessionId: context.sessionId,
          turnId: context.turnId,
          fencingToken: context.fencingToken,
          inputs: context.inputs,
          session: context.session,
          logBindings: { sessionId: context.sessionId, turnId: context.turnId, fencingToken: context.fencingToken },
        };
        if (!proc.alive()) return reject(new TurnProcessExitedError('the turn\'s sandbox process ended as the turn started'));
        proc.send({ type: 'run', turn });
        if (context.signal.aborted) onAbort();
        else context.signal.addEventListener('abort', onAbort, { once: true });
      });
    } catch (err) {
      if (err instanceof TurnProcessExitedError) log.warn({ sessionId: context.sessionId, turnId: context.turnId, pid: proc.child.pid }, err.message);
      throw err;
    } finally {
      context.signal.removeEventListener('abort', onAbort);
      proc.onMessage = null;
      proc.onExit = null;
      putBack(proc);
    }
  }

  return {
    handler,
    get size() {
      return all.size;
    },
    async start(count = 1) {
      const started = Array.from({ length: Math.max(1, Math.min(count, maxIdle)) }, () => spawn());
      const outcomes = await Promise.allSettled(started.map((proc) => proc.ready));
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      for (const proc of started) {
        if (failed) proc.child.kill('SIGKILL');
        else putBack(proc);
      }
      if (failed) throw failed.reason;
    },
    async verify() {
      let loaded: Record<string, unknown>;
      try {
        loaded = (await import(args.moduleUrl)) as Record<string, unknown>;
      } catch (err) {
        throw new SandboxStartError(`the handler module ${args.moduleUrl} does not load: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (typeof loaded[args.exportName] !== 'function') throw new SandboxStartError(`the handler module ${args.moduleUrl} has no function export named ${args.exportName}`);
    },
    async close() {
      closed = true;
      const ending = [...all].map((proc) => {
        // Held again, so this process waits for the exit instead of ending with nothing else to do.
        proc.hold(true);
        proc.child.kill('SIGKILL');
        return proc.exited;
      });
      idle.length = 0;
      await Promise.all(ending);
    },
  };
}

function serve(context: TurnContext, call: SandboxCall): Promise<unknown> {
  switch (call.op) {
    case 'checkpoint':
      return context.checkpoint();
    case 'tools.use':
      return context.tools.use(call.names, call.declared);
    case 'attachments.put':
      return context.attachments.put(call.bytes, call.meta);
    case 'attachments.get':
      return context.attachments.get(call.id);
  }
}
