/**
 * A task run every `intervalMs`, never overlapping itself: a slow run makes the next tick skip,
 * not pile up. `stop()` waits for a run in progress. The timer does not keep the process alive.
 */
export interface Periodic {
  stop(): Promise<void>;
}

export function startPeriodic(intervalMs: number, run: () => Promise<void>): Periodic {
  let running: Promise<void> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    if (!running && !stopped) running = run().finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
