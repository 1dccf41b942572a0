/**
 * Your turn handler, named by its module: `turnlane worker --handler ./my-agent.js[#exportName]`,
 * TURNLANE_HANDLER_MODULE, or `loadHandlerModule()` before `createWorker`. The export is
 * `exportName` when given, else `handler`, else the default export; it must be a function
 * `(turn) => Promise<TurnResult>`. The same module and export are what sandbox processes load
 * (TURN_SANDBOX), so the worker checks here, before it takes any job, that they load.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TurnlaneError } from '../errors.js';
import type { TurnHandler } from './turn.js';

/** The handler module cannot be used: missing file, failed import, or no function export of that name. */
export class HandlerModuleError extends TurnlaneError {
  readonly code = 'HANDLER_MODULE_INVALID';
}

export interface LoadedHandler {
  handler: TurnHandler;
  /** The module's file URL: give it to `createWorker({ sandbox: { module, exportName, turns } })`. */
  module: string;
  /** The export the handler was found under. */
  exportName: string;
}

/** Splits `path[#export]` and resolves the path against `cwd`; a file URL is taken as it is. */
export function parseHandlerSpec(spec: string, cwd: string = process.cwd()): { path: string; exportName?: string } {
  const hash = spec.lastIndexOf('#');
  const target = hash >= 0 ? spec.slice(0, hash) : spec;
  const exportName = hash >= 0 ? spec.slice(hash + 1) : undefined;
  if (target === '') throw new HandlerModuleError(`handler: expected a module path like ./my-agent.js or ./my-agent.js#handler, got "${spec}"`, { spec });
  if (exportName !== undefined && !/^[A-Za-z_$][\w$]*$/.test(exportName)) {
    throw new HandlerModuleError(`handler: expected an export name after #, got "${exportName}"`, { spec });
  }
  const path = target.startsWith('file:') ? fileURLToPath(target) : isAbsolute(target) ? target : resolve(cwd, target);
  return exportName === undefined ? { path } : { path, exportName };
}

/** Imports the module named by `spec` and returns its turn handler; HandlerModuleError says what is wrong. */
export async function loadHandlerModule(spec: string, cwd: string = process.cwd()): Promise<LoadedHandler> {
  const { path, exportName } = parseHandlerSpec(spec, cwd);
  if (!existsSync(path)) throw new HandlerModuleError(`handler module ${spec}: no such file (looked for ${path})`, { spec, path });
  const url = pathToFileURL(path).href;
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new HandlerModuleError(`handler module ${spec} does not load: ${reason}`, { spec, path }, { cause: err });
  }
  const name = exportName ?? (typeof loaded.handler === 'function' ? 'handler' : 'default');
  const handler = loaded[name];
  if (typeof handler !== 'function') {
    const found = Object.keys(loaded).filter((k) => typeof loaded[k] === 'function');
    const wanted = exportName !== undefined ? `an export named ${exportName}` : 'an export named handler or a default export';
    throw new HandlerModuleError(`handler module ${spec}: expected ${wanted} that is a function, found ${found.length > 0 ? `functions ${found.join(', ')}` : 'no function export'}`, {
      spec,
      path,
    });
  }
  return { handler: handler as TurnHandler, module: url, exportName: name };
}
