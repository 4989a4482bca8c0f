import { ReconcileEngine } from "@fos1/dpi/agent/src/engine/reconcile-engine";
import { silentLogger } from "@fos1/dpi/agent/src/log";
import { AgentMetrics } from "@fos1/dpi/agent/src/metrics";
import { PolicyView } from "@fos1/dpi/agent/src/runtime/policy-view";
import type { StoredProgram } from "@fos1/dpi/agent/src/store/program-store";
import { classOf } from "@fos1/dpi/sdk/decide";
import { fakeKernel } from "./fixtures/fake-reconciler";
import { branchRouter1, goldenProgram, program, rehash } from "./fixtures/programs";

const qos = goldenProgram("qos-default-qos-policy");
const SIP = 3;

async function engineWithView(commit: () => Promise<void> = async () => undefined) {
  const kernel = fakeKernel();
  const engine = new ReconcileEngine({
    reconcilers: kernel.all,
    store: {
      load: async () => [],
      stage: (_: StoredProgram) => ({ commit, discard: async () => undefined }),
      remove: async () => undefined,
    },
    facts: branchRouter1,
    metrics: new AgentMetrics(),
    log: silentLogger,
  });
  await engine.restore();
  await engine.reconcile();
  return { engine, view: new PolicyView(engine) };
}

describe("PolicyView", () => {
  it("decides with a program as soon as its PUT returned, and with its replacement and deletion likewise", async () => {
    const { engine, view } = await engineWithView();
    expect(classOf(view.current(), SIP)).toBeUndefined();

    await engine.put(qos);
    expect(classOf(view.current(), SIP)?.name).toBe("voip");

    const sipAsBulk = rehash(qos, (p) => {
      const entry = p.spec.maps.fos1_app_policy!.find((e) => e.key.app_id === SIP)!;
      entry.value.class_id = 19;
    });
    await engine.put(sipAsBulk);
    expect(classOf(view.current(), SIP)?.name).toBe("bulk");

    await engine.delete(qos.metadata.name);
    expect(classOf(view.current(), SIP)).toBeUndefined();
  });

  it("settled() keeps the last built policy while a PUT is in flight, and rebuilds once it is done", async () => {
    let release = () => {};
    const committing = new Promise<void>((resolve) => (release = resolve));
    const { engine, view } = await engineWithView(() => committing);
    const before = view.settled();
    expect(engine.applying).toBe(false);
    const put = engine.put(qos);
    expect(engine.applying).toBe(true);
    // The PUT has written the kernel and waits for its file: the programs are about to change.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(view.settled()).toBe(before);
    expect(classOf(view.settled(), SIP)).toBeUndefined();
    release();
    await put;
    expect(engine.applying).toBe(false);
    expect(classOf(view.settled(), SIP)?.name).toBe("voip");
  });

  it("answers prefix lookups of a 16k-prefix program PUT just before", async () => {
    const { engine, view } = await engineWithView();
    const segments = Array.from({ length: 16_000 }, (_, i) => ({
      key: { prefix: `10.${(i >> 8) & 255}.${i & 255}.0/24` },
      value: { id: 1 + (i % 7) },
    }));
    await engine.put(program("segments", { maps: { fos1_segments: segments } }));
    const policy = view.current();
    expect(policy.segments.size).toBe(16_000);
    expect(policy.segments.lookup("10.62.127.9")).toBe(1 + (((62 << 8) | 127) % 7));
    expect(policy.segments.lookup("10.200.0.1")).toBeUndefined();
  });
});
