/**
 * A real API server process (`bin/turnlane.mjs server`) for HTTP and browser tests, in the
 * namespace of a RuntimeFixture (its database and BullMQ prefix), with test credentials; and the
 * list of routes that server registers.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { createBatchQueue, redisConnection, resolveQueueSettings } from '../../src/runtime/bullmq.js';
import { createProducer } from '../../src/runtime/producer.js';
import { buildApp } from '../../src/server/app.js';
import { createAuthenticator, secretDigest } from '../../src/server/auth.js';
import { createCommitHub } from '../../src/server/commit-hub.js';
import type { ServerContext } from '../../src/server/context.js';
import { createInMemoryStore } from '../../src/store/memory/index.js';
import { REDIS_URL } from './runtime.js';

export const BIN = fileURLToPath(new URL('../../bin/turnlane.mjs', import.meta.url));

export const PRODUCER_KEY = 'tl-test-producer-key-0123456789abcdef';
export const OPERATOR = { user: 'ops', password: 'correct horse battery staple, but longer' };
/** `printf %s "$OPERATOR.password" | turnlane hash-password`, made once (scrypt takes tens of ms). */
export const OPERATOR_PASSWORD_HASH = '$scrypt$N=32768$r=8$p=1$RGOBogMBNUt-G3WKKJBoLw$GflTQYeLuXMEMUKCujx5B66Oia7TKfwSYyqbZdk4pTU';

export function credentialsEnv(): Record<string, string> {
  return {
    API_KEY_SHA256: secretDigest(PRODUCER_KEY),
    OPERATOR_CREDENTIALS: `${OPERATOR.user}:${OPERATOR_PASSWORD_HASH}`,
    OPERATOR_SESSION_SECRET: 'test-session-secret',
  };
}

export const bearer = { authorization: `Bearer ${PRODUCER_KEY}` };
export const basic = { authorization: `Basic ${Buffer.from(`${OPERATOR.user}:${OPERATOR.password}`).toString('base64')}` };

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Captured stdout+stderr (JSON log lines). */
  output(): string;
  stop(): Promise<void>;
}

export async function startServerProcess(env: Record<string, string>, args: string[] = []): Promise<ServerProcess> {
  const child = fork(BIN, ['server', '--port', '0', ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', HTTP_HOST: '127.0.0.1', ...credentialsEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.on('message', (msg: { type?: string; url?: string }) => {
      if (msg.type === 'listening' && msg.url) resolve(msg.url);
    });
    void exited.then(() => reject(new Error(`server exited before listening:\n${output}`)));
  });
  return {
    child,
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface RouteEntry {
  method: string;
  /** The URL pattern as registered, e.g. `/v1/sessions/:id/inputs`. */
  url: string;
}

/**
 * Every route the API server registers (one entry per method; automatic HEAD routes and Bull
 * Board's included), taken from an app built in this process by the same `buildApp` as
 * `turnlane server`, on an in-memory store and a queue under a throwaway BullMQ prefix.
 */
export async function routeInventory(): Promise<RouteEntry[]> {
  const routes: RouteEntry[] = [];
  const settings = resolveQueueSettings({ redisUrl: REDIS_URL, prefix: `{tl-inventory-${randomBytes(4).toString('hex')}}` });
  const connection = redisConnection(REDIS_URL, 'worker');
  const queue = createBatchQueue(settings, connection);
  const store = createInMemoryStore();
  const log = createLogger({ level: 'silent' });
  const ctx: ServerContext = {
    store,
    queue,
    producer: createProducer({ store, queue, settings, logger: log }),
    redis: connection,
    settings,
    auth: createAuthenticator({ apiKeySha256: [secretDigest(PRODUCER_KEY)], operatorCredentials: [], sessionSecret: 'inventory', insecureLocal: false }),
    commits: await createCommitHub(null, settings.prefix, log),
    metrics: createMetrics({ processMetrics: false }),
    log,
    maxActivePerAgent: 0,
    bullBoardReadOnly: false,
    onClose: () => {},
  };
  const app = await buildApp(ctx, {
    bodyLimit: 1024,
    onRoute: (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url });
    },
  });
  try {
    await app.ready();
  } finally {
    await app.close();
    await queue.close();
    connection.disconnect();
    await store.close();
  }
  return routes;
}

export interface RawRequest {
  method: string;
  /** Sent byte for byte: no URL normalisation, no re-encoding. */
  path: string;
  headers: Record<string, string | string[]>;
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** An event stream, read up to its first event and then closed by the client. */
  stream: boolean;
}

export class HungRequestError extends Error {
  readonly code = 'HUNG_REQUEST';
}

/**
 * One request as a fuzzer wants it: the path exactly as given (fetch would resolve `..` and
 * re-encode), any header values Node accepts, on the caller's agent. Fails with HungRequestError
 * when the answer has not ended after `timeoutMs`.
 */
export function sendRaw(baseUrl: string, request: RawRequest, options: { agent: Agent; timeoutMs: number }): Promise<RawResponse> {
  const base = new URL(baseUrl);
  return new Promise<RawResponse>((resolve, reject) => {
    // Node sends a GET, HEAD or DELETE body without Content-Length or chunking unless told its length.
    const headers = request.body === undefined ? request.headers : { 'content-length': String(Buffer.byteLength(request.body)), ...request.headers };
    const req = httpRequest({ host: base.hostname, port: base.port, method: request.method, path: request.path, headers, agent: options.agent });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new HungRequestError(`${request.method} ${request.path.slice(0, 200)}: no complete answer after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const stream = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (stream && body.includes('\nevent: ')) res.destroy();
      });
      const done = () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, stream });
      };
      res.on('end', done);
      res.on('close', done);
    });
    req.end(request.body);
  });
}
