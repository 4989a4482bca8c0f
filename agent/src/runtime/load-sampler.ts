import type { Logger } from "../log";

export interface UnderLoad {
  /** Sensor input rate (packets/s) above which non-critical flows are sampled. */
  readonly thresholdPps: number;
  readonly sampleOneIn: number;
}

/** Below this share of the threshold, for `calmMs`, sampling stops: no flapping at the threshold. */
const OFF_BELOW = 0.8;

/**
 * Switches the data plane's load sampling from the rate the sensors would
 * receive (packets mirrored plus packets the sampling held back), so that
 * under load non-critical flows are sampled after their first packets while
 * critical ones stay fully inspected, and full inspection returns once the
 * load has stayed down for a while.
 */
export class LoadSampler {
  private last: { atMs: number; packets: number } | undefined;
  private active = 0;
  private calmSinceMs: number | undefined;

  constructor(
    private readonly set: (oneIn: number) => void,
    private readonly log: Logger,
    private readonly calmMs = 2000,
  ) {}

  /** The sampling in force (0: off). */
  get oneIn(): number {
    return this.active;
  }

  /** One observation: the offered packets so far (a counter) at `atMs`, under the policy's threshold (if any). */
  observe(atMs: number, offeredPackets: number, policy: UnderLoad | undefined): void {
    const prev = this.last;
    this.last = { atMs, packets: offeredPackets };
    if (!policy) {
      this.apply(0, 0);
      return;
    }
    if (!prev || atMs <= prev.atMs || offeredPackets < prev.packets) return;
    const pps = ((offeredPackets - prev.packets) * 1000) / (atMs - prev.atMs);
    if (pps > policy.thresholdPps) {
      this.calmSinceMs = undefined;
      this.apply(policy.sampleOneIn, pps);
    } else if (this.active !== 0 && pps < policy.thresholdPps * OFF_BELOW) {
      this.calmSinceMs ??= atMs;
      if (atMs - this.calmSinceMs >= this.calmMs) this.apply(0, pps);
    } else this.calmSinceMs = undefined;
  }

  private apply(oneIn: number, pps: number): void {
    if (oneIn === this.active) return;
    this.set(oneIn);
    this.active = oneIn;
    this.calmSinceMs = undefined;
    if (oneIn)
      this.log.warn("sensors under load: sampling non-critical flows", { pps: Math.round(pps), oneIn });
    else this.log.info("load back to normal: every flow fully inspected", { pps: Math.round(pps) });
  }
}
