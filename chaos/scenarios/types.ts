/** What every chaos scenario provides to chaos/run.ts. */
import type { ChaosWorld } from '../harness.js';

export interface ScenarioOutcome {
  /** Batches the scenario meant to be dead-lettered (poison input); they do not count against the committed fraction. */
  expectDeadLetter?(batchId: string): boolean;
  /** Scenario-specific measurements for the results file and the table's notes. */
  extra?: Record<string, unknown>;
  /** Scenario-specific checks that failed (beyond the global invariants). */
  failures?: string[];
}

export interface Scenario {
  name: string;
  /** Worker environment for this scenario. */
  env?: Record<string, string>;
  run(world: ChaosWorld, smoke: boolean): Promise<ScenarioOutcome>;
}
