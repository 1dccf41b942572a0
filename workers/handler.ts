/**
 * The worker's turn handler, chosen by configuration (src/config.ts): the demo agent, or the
 * append-one benchmark handler. Sandbox processes (TURN_SANDBOX) load `handler` from here; the
 * worker hands them its validated settings in TURNLANE_HANDLER_SETTINGS, so a sandbox process does
 * not load the configuration schema (zod was half of its start-up CPU).
 */
import type { Config } from '../src/config.js';
import type { TurnHandler } from '../src/runtime/turn.js';
import { createAppendOneHandler } from './append-one.js';
import { createDemoAgent } from './demo-agent.js';

/** The settings a handler is chosen and built from. */
export type HandlerSettings = Pick<Config, 'TURNLANE_HANDLER' | 'TURNLANE_HANDLER_HOLD_MS' | 'DEMO_THINK_MS'>;

export function handlerSettings(config: Config): HandlerSettings {
  return { TURNLANE_HANDLER: config.TURNLANE_HANDLER, TURNLANE_HANDLER_HOLD_MS: config.TURNLANE_HANDLER_HOLD_MS, DEMO_THINK_MS: config.DEMO_THINK_MS };
}

export function selectHandler(settings: HandlerSettings): TurnHandler {
  if (settings.TURNLANE_HANDLER === 'append-one') return createAppendOneHandler({ holdMs: settings.TURNLANE_HANDLER_HOLD_MS });
  return createDemoAgent({ thinkMs: settings.DEMO_THINK_MS });
}

async function configured(): Promise<TurnHandler> {
  const passed = process.env.TURNLANE_HANDLER_SETTINGS;
  if (passed) return selectHandler(JSON.parse(passed) as HandlerSettings);
  const { loadConfig } = await import('../src/config.js');
  return selectHandler(handlerSettings(loadConfig()));
}

let selected: Promise<TurnHandler> | undefined;

/** The configured handler, built on first use. */
export const handler: TurnHandler = async (turn) => (await (selected ??= configured()))(turn);
