/**
 * The worker's turn handler, chosen by configuration (src/config.ts): the demo agent, or the
 * append-one benchmark handler. Sandbox processes (TURN_SANDBOX) load `handler` from here.
 */
import { loadConfig, type Config } from '../src/config.js';
import type { TurnHandler } from '../src/runtime/turn.js';
import { createAppendOneHandler } from './append-one.js';
import { createDemoAgent } from './demo-agent.js';

export function selectHandler(config: Config): TurnHandler {
  if (config.TURNLANE_HANDLER === 'append-one') return createAppendOneHandler({ holdMs: config.TURNLANE_HANDLER_HOLD_MS });
  return createDemoAgent({ thinkMs: config.DEMO_THINK_MS });
}

let selected: TurnHandler | undefined;

/** The configured handler, built on first use from this process's environment. */
export const handler: TurnHandler = (turn) => (selected ??= selectHandler(loadConfig()))(turn);
