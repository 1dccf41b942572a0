/**
 * Process signals: the first SIGTERM or SIGINT closes gracefully (turns in flight get their
 * grace period) and exits 0; a second one exits at once.
 */
import type { Logger } from 'pino';

export function exitOnSignals(close: () => Promise<void>, log: Logger): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    log.info({ signal }, 'shutting down gracefully');
    close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'graceful shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
