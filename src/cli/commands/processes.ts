/** `turnlane worker | server | demo | bench`: the long-running processes. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new InvalidArgumentError(`expected a TCP port 0-65535, got ${value}`);
  return n;
}

export function registerProcessCommands(program: Command): void {
  program
    .command('worker')
    .description('run a worker process until SIGTERM: your handler module, or the demo agent')
    .option('--handler <module>', 'your turn handler: ./my-agent.js or ./my-agent.js#exportName (default TURNLANE_HANDLER_MODULE, else the demo agent)')
    .option('--concurrency <n>', 'BullMQ job slots (default WORKER_CONCURRENCY)', positiveInt)
    .action(async (options: { concurrency?: number; handler?: string }) => {
      // The worker reads its configuration from the environment (src/config.ts); the flags win.
      if (options.concurrency !== undefined) process.env.WORKER_CONCURRENCY = String(options.concurrency);
      if (options.handler !== undefined) process.env.TURNLANE_HANDLER_MODULE = options.handler;
      const { runWorkerProcess } = await import('../../../workers/main.js');
      await runWorkerProcess();
    });

  program
    .command('server')
    .description('run the HTTP API, the dashboard (/admin) and /metrics until SIGTERM')
    .option('--insecure-local', 'no credentials; binds 127.0.0.1 only')
    .option('--port <port>', 'TCP port, 0-65535 (default HTTP_PORT)', port)
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
