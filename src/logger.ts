import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Paths that may carry secrets or user content. Logs never contain lease or claim tokens, nor
 * payload text: values here are replaced before serialization, as a second line of defence
 * behind the habit of logging ids only.
 */
const REDACT = [
  'leaseToken',
  'claimToken',
  '*.leaseToken',
  '*.claimToken',
  '*.*.leaseToken',
  '*.*.claimToken',
  'payloads',
  '*.payloads',
  'text',
  '*.text',
];

export interface LoggerOptions {
  level?: string;
  /** Extra bindings on every line (for example the process role). */
  base?: Record<string, unknown>;
  /** Where to write; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

/** JSON logs by default; pretty output only where a person is watching (a TTY) and pino-pretty is installed. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const settings: pino.LoggerOptions = {
    level,
    base: options.base ?? {},
    redact: { paths: REDACT, censor: '[redacted]' },
    // The paths above stop at depth 2; these catch a token at any depth and inside an error's
    // details (a commit's fence at turn.commit.leaseFence leaked: test/security/loggerRedaction.test.ts).
    formatters: { log: (object) => scrubTokens(object) as Record<string, unknown>, bindings: (bindings) => scrubTokens(bindings) as pino.Bindings },
    serializers: { err: (err: Error) => scrubTokens({ ...pino.stdSerializers.err(err) }) },
  };
  if (options.destination) return pino(settings, options.destination as pino.DestinationStream);
  return pino(settings);
}

const TOKEN_KEYS = new Set(['leaseToken', 'claimToken', 'lease_token', 'claim_token']);
/** Objects nested deeper than this are logged as they are: no log line of ours comes close. */
const MAX_SCRUB_DEPTH = 10;

/** A copy of plain objects and arrays with every token-named key's value censored; anything else as it is. */
function scrubTokens(value: unknown, depth = 0): unknown {
  if (depth > MAX_SCRUB_DEPTH || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => scrubTokens(item, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = TOKEN_KEYS.has(key) ? '[redacted]' : scrubTokens(item, depth + 1);
  return out;
}

/** A logger that drops everything: the default for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
