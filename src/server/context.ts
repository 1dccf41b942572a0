/** What every route of the API server works with, built once by app.ts. */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { BatchJobData, QueueSettings } from '../runtime/bullmq.js';
import type { Producer } from '../runtime/producer.js';
import type { RuntimeStore } from '../store/contract.js';
import type { Authenticator } from './auth.js';
import type { CommitHub } from './commit-hub.js';
import type { StreamGate } from './stream-limits.js';

export interface ServerContext {
  store: RuntimeStore;
  queue: Queue<BatchJobData>;
  producer: Producer;
  /** The producer's Redis connection (fails fast): readiness and commit-feed publishing. */
  redis: Redis;
  settings: QueueSettings;
  auth: Authenticator;
  commits: CommitHub;
  metrics: Metrics;
  log: Logger;
  /** Active task sessions per agent on create; 0: no cap. */
  maxActivePerAgent: number;
  bullBoardReadOnly: boolean;
  /** Registers work to stop when the server closes (open event streams); returns its unregistration. */
  onClose(stop: () => void): (() => void) | void;
  /** Open event streams per caller and per server; default DEFAULT_STREAM_LIMITS of stream-limits.ts. */
  streams?: StreamGate;
}
