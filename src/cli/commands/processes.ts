/** `turnlane worker | server | demo | bench`: the long-running processes. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function registerProcessCommands(program: Command): void {
  program
    .command('worker')
    .description('run a worker process (the demo agent) until SIGTERM')
    .option('--concurrency <n>', 'BullMQ job slots (default WORKER_CONCURRENCY)', positiveInt)
    .action(async (options: { concurrency?: number }) => {
      // The worker reads its configuration from the environment (src/config.ts); the flag wins.
      if (options.concurrency !== undefined) process.env.WORKER_CONCURRENCY = String(options.concurrency);
      const { runWorkerProcess } = await import('../../../workers/main.js');
      await runWorkerProcess();
    });

  program
    .command('server')
    .description('run the HTTP API, the dashboard (/admin) and /metrics until SIGTERM')
    .option('--insecure-local', 'no credentials; binds 127.0.0.1 only')
    .option('--port <port>', 'TCP port (default HTTP_PORT)', (v) => Number(v))
    .action(async (options: { insecureLocal?: boolean; port?: number }) => {
      const { runServerProcess } = await import('../../server/main.js');
      await runServerProcess({ insecureLocal: options.insecureLocal === true, ...(options.port !== undefined ? { port: options.port } : {}) });
    });

  program
    .command('demo')
    .description('migrate, start worker processes and simulated chat users, print a results table')
    .action(async () => {
      const { runDemo } = await import('../../../workers/demo.js');
      await runDemo();
    });

  program
    .command('bench')
    .description('run the benchmarks (npm run bench)')
    .allowUnknownOption()
    .argument('[args...]')
    .action(async (args: string[]) => {
      const root = fileURLToPath(new URL('../../../', import.meta.url));
      const child = spawn('npm', ['run', '--silent', 'bench', '--', ...args], { cwd: root, stdio: 'inherit' });
      const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
      process.exitCode = code;
    });
}
