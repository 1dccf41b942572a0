/**
 * Chaos only: shifts this process's wall clock (Date.now and new Date()) by CHAOS_CLOCK_SKEW_MS,
 * for the clock-skew scenario (`faketime` is not available). Loaded with `--import` into worker
 * processes by chaos/harness.ts; never part of the product.
 */
const skewMs = Number(process.env.CHAOS_CLOCK_SKEW_MS ?? 0);

if (Number.isFinite(skewMs) && skewMs !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  class SkewedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(realNow() + skewMs);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return realNow() + skewMs;
    }
  }
  globalThis.Date = SkewedDate as DateConstructor;
}

export {};
