import { LoadSampler } from "@fos1/dpi/agent/src/runtime/load-sampler";
import { silentLogger } from "@fos1/dpi/agent/src/log";

const POLICY = { thresholdPps: 10_000, sampleOneIn: 8 };

/** Feeds a constant rate for `ms`, observing every 250 ms like the agent's maintenance tick. */
function feed(
  s: LoadSampler,
  at: { ms: number; packets: number },
  pps: number,
  ms: number,
  policy = POLICY,
): void {
  for (let t = 0; t < ms; t += 250) {
    at.ms += 250;
    at.packets += (pps * 250) / 1000;
    s.observe(at.ms, at.packets, policy);
  }
}

describe("load sampling of non-critical flows", () => {
  it("turns on above the threshold, stays on near it, and turns off only after the load stayed down", () => {
    const writes: number[] = [];
    const s = new LoadSampler((n) => writes.push(n), silentLogger);
    const at = { ms: 0, packets: 0 };
    feed(s, at, 5_000, 2000);
    expect(writes).toEqual([]);
    feed(s, at, 20_000, 500);
    expect(writes).toEqual([8]);
    expect(s.oneIn).toBe(8);
    // Between 80% and 100% of the threshold nothing moves.
    feed(s, at, 9_000, 5000);
    expect(writes).toEqual([8]);
    // Below 80% for less than the calm period: still on; long enough: off, once.
    feed(s, at, 2_000, 1500);
    expect(writes).toEqual([8]);
    feed(s, at, 2_000, 1000);
    expect(writes).toEqual([8, 0]);
    feed(s, at, 2_000, 3000);
    expect(writes).toEqual([8, 0]);
  });

  it("a spike during the calm period restarts it; a policy without underLoad switches sampling off", () => {
    const writes: number[] = [];
    const s = new LoadSampler((n) => writes.push(n), silentLogger);
    const at = { ms: 0, packets: 0 };
    feed(s, at, 50_000, 500);
    feed(s, at, 1_000, 1500);
    feed(s, at, 50_000, 250);
    feed(s, at, 1_000, 1500);
    expect(writes).toEqual([8]);
    s.observe(at.ms + 250, at.packets, undefined);
    expect(writes).toEqual([8, 0]);
  });

  it("ignores counter resets (programs reloaded) instead of computing a negative rate", () => {
    const writes: number[] = [];
    const s = new LoadSampler((n) => writes.push(n), silentLogger);
    s.observe(0, 1_000_000, POLICY);
    s.observe(250, 10, POLICY);
    s.observe(500, 20, POLICY);
    expect(writes).toEqual([]);
  });
});
