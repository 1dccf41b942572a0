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
  const settings = { level, base: options.base ?? {}, redact: { paths: REDACT, censor: '[redacted]' } };
  if (options.destination) return pino(settings, options.destination as pino.DestinationStream);
  return pino(settings);
}

/** A logger that drops everything: the default for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
