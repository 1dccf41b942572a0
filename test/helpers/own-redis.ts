/**
 * A Redis server of a test's own, on a spare port in 7100-7999, for tests that stop and start
 * Redis: the shared one on 6379 is never stopped (other tests and developers use it).
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { waitFor } from './processes.js';

export interface OwnRedis {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile(file, args, (err) => (err ? reject(err) : resolve())));
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function answers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** A stopped Redis on a free port; `start()` it. */
export async function ownRedis(): Promise<OwnRedis> {
  let port = 0;
  for (let i = 0; i < 50 && port === 0; i++) {
    const candidate = 7100 + Math.floor(Math.random() * 900);
    if (await portIsFree(candidate)) port = candidate;
  }
  if (port === 0) throw new Error('no free port in 7100-7999 for a Redis of our own');
  const url = `redis://127.0.0.1:${port}`;
  return {
    port,
    url,
    async start() {
      await run('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--logfile', '']);
      await waitFor(() => answers(url), 20_000, `redis-server on ${port}`);
    },
    async stop() {
      // redis-cli reports the connection a shutdown drops as an error.
      await run('redis-cli', ['-p', String(port), 'shutdown', 'nosave']).catch(() => {});
      await waitFor(async () => !(await answers(url)), 20_000, `redis-server on ${port} to stop`);
    },
  };
}
