/**
 * P10, the client's view (`--scenario client`): what a chat user waits for. The real API server
 * (`bin/turnlane.mjs server --insecure-local`), 2 worker processes with the append-one handler,
 * `clientStreams` sessions each with an open event stream (GET /v1/sessions/:id/events). Inputs
 * are POSTed to /v1/sessions/:id/inputs open-loop at each of `clientRates` inputs/s, round-robin
 * over the sessions, each at its scheduled time whether or not earlier ones were answered.
 *
 * Measured per input: POST → 202, and send → its commit visible on the stream (the `commit`
 * event whose append-one node counts it; a session's inputs commit in order), both from the
 * moment the request was sent and from its scheduled send time, so a client that falls behind
 * (the loop, or sockets waiting for answers) shows in the second.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { percentile } from '../../workers/terminal.js';
import { runQueue, sleep, waitFor, type BenchContext, type Metrics, type MetricSpec, type Scenario } from '../harness.js';
import { startTurnlaneWorkers } from '../processes.js';

const BIN = fileURLToPath(new URL('../../bin/turnlane.mjs', import.meta.url));
/** Worker processes: the client-view setup. */
const WORKERS = 2;

interface ServerChild {
  url: string;
  stop(): Promise<void>;
}

async function startServer(ctx: BenchContext, queueName: string): Promise<ServerChild> {
  const child: ChildProcess = fork(BIN, ['server', '--insecure-local', '--port', '0'], {
    execArgv: [],
    env: { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: ctx.databaseUrl, REDIS_URL: ctx.redisUrl, TURNLANE_PREFIX: ctx.prefix, TURNLANE_QUEUE: queueName, API_KEY_SHA256: '', OPERATOR_CREDENTIALS: '' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.on('message', (msg: { type?: string; url?: string }) => {
      if (msg.type === 'listening' && msg.url) resolve(msg.url);
    });
    void exited.then(() => reject(new Error('P10: the server exited before it listened')));
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One input in flight: its times, and its batch id once the 202 came. */
interface Pending {
  scheduledAt: number;
  sentAt: number;
  batchId?: string;
  visible?: number;
  answered?: number;
}

/** An open event stream of one session, marking its inputs visible as their commits arrive. */
function openStream(url: string, sessionId: string, queue: Pending[], onProblem: (what: string) => void): { ready: Promise<void>; close(): void } {
  let req: ClientRequest | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    req = request(`${url}/v1/sessions/${encodeURIComponent(sessionId)}/events`, { headers: { accept: 'text/event-stream' } }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) return reject(new Error(`P10: events of ${sessionId}: HTTP ${res.statusCode}`));
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        const now = performance.now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === 'ready') resolve();
          if (event !== 'commit' || !data) continue;
          const commit = JSON.parse(data) as { turnId: string; appendedNodes: Array<{ nodeId: string; causedBy?: string | null; payload?: { event?: { inputs?: number } } }> };
          // The stream may attach a node to the commit before its own (a commit that lands between
          // its two reads); the turn's own node says how many inputs it took, else one.
          const node = commit.appendedNodes.find((n) => n.nodeId.startsWith(`${commit.turnId}:`));
          const count = node?.payload?.event?.inputs ?? 1;
          // Two POSTs of a session in flight at once may be enqueued in either order: the turn's
          // input is found by its batch id when its 202 came, else it is the oldest unanswered.
          for (let n = 0; n < count; n++) {
            const open = queue.filter((p) => p.visible === undefined);
            const input = (n === 0 && node ? open.find((p) => p.batchId === node.causedBy) : undefined) ?? open.find((p) => p.batchId === undefined) ?? open[0];
            if (!input) return onProblem(`${sessionId}: a commit for an input never sent`);
            input.visible = now;
          }
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
  return { ready, close: () => req?.destroy() };
}

function post(agent: Agent, url: string, path: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(`${url}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export function p10Metrics(rates: number[]): MetricSpec[] {
  return rates.flatMap((r) => [
    { key: `offered_${r}`, label: `${r}/s: offered inputs/s`, unit: '/s', better: 'higher' as const },
    { key: `visibleP50_${r}`, label: `${r}/s: send → commit on stream p50`, unit: 'ms', better: 'lower' as const },
    { key: `visibleP99_${r}`, label: `${r}/s: send → commit on stream p99`, unit: 'ms', better: 'lower' as const },
    { key: `scheduledP99_${r}`, label: `${r}/s: scheduled send → commit on stream p99`, unit: 'ms', better: 'lower' as const },
    { key: `postP99_${r}`, label: `${r}/s: POST → 202 p99`, unit: 'ms', better: 'lower' as const },
  ]);
}

async function clientOnce(ctx: BenchContext): Promise<Metrics> {
  const { clientStreams, clientRates, clientWindowMs, concurrency, leaseTtlMs } = ctx.sizes;
  const tag = ctx.tag('p10');
  const rq = runQueue(ctx, tag);
  let turns = 0;
  const workers = startTurnlaneWorkers(
    WORKERS,
    { databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, prefix: ctx.prefix, queueName: tag, concurrency, extra: { LEASE_TTL_MS: String(leaseTtlMs) } },
    () => void turns++,
  );
  const server = await startServer(ctx, tag).catch(async (err: unknown) => {
    await workers.stop();
    await rq.close();
    throw err;
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const sessions = Array.from({ length: clientStreams }, (_, i) => `${tag}-s${i}`);
  const queues = new Map(sessions.map((s) => [s, [] as Pending[]]));
  const streams: Array<{ close(): void }> = [];
  const problems: string[] = [];
  let failed = 0;
  try {
    await workers.ready;
    // One input per session first: the session exists (its stream is found) and everything is warm.
    for (const res of await Promise.all(sessions.map((s) => post(agent, server.url, `/v1/sessions/${s}/inputs`, { text: 'hello' })))) {
      if (res.status !== 202) throw new Error(`P10: warm-up input: HTTP ${res.status} ${res.body}`);
    }
    await waitFor('P10 warm-up turns', () => turns, sessions.length, 120_000);
    for (const sessionId of sessions) streams.push(openStream(server.url, sessionId, queues.get(sessionId)!, (p) => problems.push(p)));
    await Promise.all(streams.map((s) => (s as ReturnType<typeof openStream>).ready));

    const out: Metrics = {};
    for (const rate of clientRates) {
      const inputs: Pending[] = [];
      const began = performance.now();
      let sent = 0;
      while (performance.now() - began < clientWindowMs) {
        const due = Math.floor(((performance.now() - began) / 1000) * rate);
        for (; sent < due; sent++) {
          const sessionId = sessions[sent % sessions.length]!;
          const input: Pending = { scheduledAt: began + (sent * 1000) / rate, sentAt: performance.now() };
          inputs.push(input);
          queues.get(sessionId)!.push(input);
          post(agent, server.url, `/v1/sessions/${sessionId}/inputs`, { text: `input ${sent}` }).then(
            (res) => {
              input.answered = performance.now();
              if (res.status === 202) input.batchId = (JSON.parse(res.body) as { batchId: string }).batchId;
              else failed++;
            },
            () => failed++,
          );
        }
        await sleep(1);
      }
      // Generous: on a loaded machine the workers fall behind, and that is a result, not a failure.
      await waitFor(`P10 at ${rate}/s: commits visible`, () => inputs.filter((p) => p.visible !== undefined).length + failed, inputs.length, Math.max(120_000, 20 * clientWindowMs));
      if (failed > 0) throw new Error(`P10 at ${rate}/s: ${failed} POSTs failed`);
      if (problems.length > 0) throw new Error(`P10: ${problems.slice(0, 3).join('; ')}`);
      await waitFor(`P10 at ${rate}/s: answers`, () => inputs.filter((p) => p.answered !== undefined).length, inputs.length, 60_000);
      for (const q of queues.values()) q.length = 0;
      out[`offered_${rate}`] = (inputs.length * 1000) / clientWindowMs;
      out[`visibleP50_${rate}`] = percentile(inputs.map((p) => p.visible! - p.sentAt), 50);
      out[`visibleP99_${rate}`] = percentile(inputs.map((p) => p.visible! - p.sentAt), 99);
      out[`scheduledP99_${rate}`] = percentile(inputs.map((p) => p.visible! - p.scheduledAt), 99);
      out[`postP99_${rate}`] = percentile(inputs.map((p) => p.answered! - p.sentAt), 99);
    }
    return out;
  } finally {
    for (const s of streams) s.close();
    agent.destroy();
    await server.stop();
    await workers.stop();
    await rq.close();
  }
}

export const p10Client: Scenario = {
  id: 'P10',
  title: "Client's view: HTTP enqueue, 2 workers, open event streams",
  metrics: [],
  async runOnce(ctx) {
    this.metrics = p10Metrics(ctx.sizes.clientRates);
    return clientOnce(ctx);
  },
};
