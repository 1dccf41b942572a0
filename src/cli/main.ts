/**
 * `turnlane …`: the command line for operators and scripts. Tables by default, `--json` on every
 * read command, and on failure one line `error: CODE: message` with a non-zero exit code
 * (1 for a refused or failed operation, 2 for bad usage or configuration).
 */
import { Command, CommanderError } from 'commander';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config.js';
import { TurnlaneError } from '../errors.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerMaintenanceCommands } from './commands/maintenance.js';
import { registerOperatorCommands } from './commands/operators.js';
import { registerProcessCommands } from './commands/processes.js';
import { registerQueueCommands } from './commands/queue.js';
import { registerSessionCommands } from './commands/sessions.js';
import { packageVersion } from './version.js';

export function buildProgram(): Command {
  const program = new Command('turnlane')
    .description('per-session serial turns for conversational agents: Postgres decides, BullMQ delivers')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run turnlane --help for usage)')
    .exitOverride();
  registerKeyCommands(program);
  registerMaintenanceCommands(program);
  registerOperatorCommands(program);
  registerProcessCommands(program);
  registerQueueCommands(program);
  registerSessionCommands(program);
  return program;
}

/** One line for any failure; never a stack trace for an expected error. */
export function describeFailure(err: unknown): { line: string; exitCode: number } {
  if (err instanceof TurnlaneError) return { line: `error: ${err.code}: ${err.message}`, exitCode: 1 };
  if (err instanceof ConfigError) return { line: `error: ${err.code}: ${err.message.replace(/\n\s*/g, '; ')}`, exitCode: 2 };
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ECONNREFUSED') return { line: `error: STORE_UNAVAILABLE: ${message}`, exitCode: 1 };
  if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return { line: `error: ${code}: ${message.split('\n')[0]}`, exitCode: 1 };
  return { line: `error: ${message.split('\n')[0]}`, exitCode: 1 };
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its own message (or the help) already.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const { line, exitCode } = describeFailure(err);
    process.stderr.write(`${line}\n`);
    process.exitCode = exitCode;
  }
}

if (fileURLToPath(import.meta.url) === process.argv[1]) void main();
