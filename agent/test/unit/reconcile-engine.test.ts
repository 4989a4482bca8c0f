import { ReconcileEngine, type ProgramPersistence } from "@fos1/dpi/agent/src/engine/reconcile-engine";
import { ApplyFailedError, NotReadyError, RejectedError } from "@fos1/dpi/agent/src/engine/errors";
import { silentLogger } from "@fos1/dpi/agent/src/log";
import { AgentMetrics } from "@fos1/dpi/agent/src/metrics";
import { ConflictError } from "@fos1/dpi/agent/src/reconcile/reconciler";
import type { StoredProgram } from "@fos1/dpi/agent/src/store/program-store";
import { fakeKernel } from "./fixtures/fake-reconciler";
import { branchRouter1, goldenProgram, nftProgram, rehash } from "./fixtures/programs";

/** Keeps programs in memory; `failures` makes the next saves/removes throw like a full disk. */
class MemoryStore implements ProgramPersistence {
  readonly files = new Map<string, StoredProgram>();
  failures = 0;
  writes = 0;
  async load() {
    return [...this.files.values()];
  }
  /** Files staged and not yet committed or discarded. */
  staged = 0;
  stage(stored: StoredProgram) {
    this.staged += 1;
    return {
      commit: async () => {
        this.staged -= 1;
        this.fail();
        this.writes += 1;
        this.files.set(stored.program.metadata.name, stored);
      },
      discard: async () => {
        this.staged -= 1;
      },
    };
  }
  async remove(name: string) {
    this.fail();
    this.writes += 1;
    this.files.delete(name);
  }
  private fail() {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error("ENOSPC: no space left on device");
    }
  }
}

async function readyEngine(store = new MemoryStore()) {
  const kernel = fakeKernel();
  const metrics = new AgentMetrics();
  const engine = new ReconcileEngine({
    reconcilers: [kernel.ip, kernel.tc, kernel.maps, kernel.nftables],
    store,
    facts: branchRouter1,
    metrics,
    log: silentLogger,
  });
  await engine.restore();
  await engine.reconcile();
  kernel.order.length = 0;
  return { engine, kernel, store, metrics };
}

const metric = async (metrics: AgentMetrics, name: string) =>
  (await metrics.registry.getSingleMetric(name)!.get()).values;

const qos = goldenProgram("qos-default-qos-policy");
const routing = goldenProgram("routing-application-routing");
const fastPath = goldenProgram("fastpath-branch-fast-path");
const firewall = goldenProgram("firewall-branch-firewall");

describe("ReconcileEngine put", () => {
  it("applies maps, nftables, tc, ip in that order and reports each subsystem's writes", async () => {
    const { engine, kernel } = await readyEngine();
    const result = await engine.put(qos);
    expect(kernel.order).toEqual(["maps", "nftables", "tc", "ip"]);
    // 13 app_policy class_ids + 4 classes x 2 fields, and one HTB tree per uplink.
    expect(result.writes).toEqual({ maps: 21, nftables: 0, tc: qos.spec.tc.length, ip: 0 });
    expect(result.name).toBe("qos-default-qos-policy");
    expect(result.hash).toBe(qos.hash);
  });

  it("writes nothing when the same program is put again and the kernel holds it", async () => {
    const { engine, kernel, store } = await readyEngine();
    await engine.put(routing);
    const storeWrites = store.writes;
    const again = await engine.put(structuredClone(routing));
    expect(again.writes).toEqual({ maps: 0, nftables: 0, tc: 0, ip: 0 });
    expect(store.writes).toBe(storeWrites);
    expect(kernel.ip.kernel.size).toBe(routing.spec.ipRules.length + routing.spec.routes.length);
  });

  it("replaces what a program owned when its new version drops something", async () => {
    const { engine, kernel } = await readyEngine();
    await engine.put(routing);
    const fewer = rehash(routing, (p) => {
      p.spec.ipRules = p.spec.ipRules.slice(0, 1);
      p.spec.routes = p.spec.routes.slice(0, 1);
    });
    const result = await engine.put(fewer);
    expect(result.writes.ip).toBe(routing.spec.ipRules.length - 1 + routing.spec.routes.length - 1);
    expect([...kernel.ip.kernel.keys()].sort()).toEqual(
      [`ipRules.${fewer.spec.ipRules[0].priority}`, `routes.${fewer.spec.routes[0].table}`].sort(),
    );
  });

  it("lets two programs set different fields of the same map key, and deleting one keeps the other's", async () => {
    const { engine, kernel } = await readyEngine();
    await engine.put(qos);
    await engine.put(fastPath);
    const youtubeFlags = `maps.fos1_app_policy[${JSON.stringify({ app_id: 7 })}].flags`;
    const dropboxClass = `maps.fos1_app_policy[${JSON.stringify({ app_id: 9 })}].class_id`;
    expect(kernel.maps.kernel.get(youtubeFlags)).toBe("1");
    expect(kernel.maps.kernel.get(dropboxClass)).toBe("19");

    const deleted = await engine.delete(fastPath.metadata.name);
    expect(deleted?.writes.maps).toBe(
      Object.values(fastPath.spec.maps).reduce((n, entries) => n + entries.length, 0),
    );
    expect(kernel.maps.kernel.has(youtubeFlags)).toBe(false);
    expect(kernel.maps.kernel.get(dropboxClass)).toBe("19");
    expect(engine.list().programs.map((p) => p.name)).toEqual(["qos-default-qos-policy"]);
  });

  it("refuses a program that claims what another owns, before writing anything (409)", async () => {
    const { engine, kernel, store } = await readyEngine();
    await engine.put(qos);
    const before = kernel.snapshot();
    const writesBefore = store.writes;
    const thief = rehash(qos, (p) => {
      p.metadata.name = "qos-other";
      p.spec.maps = {};
    });
    const error = await engine.put(thief).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).path).toBe("spec.tc.wan1");
    expect(kernel.snapshot()).toEqual(before);
    expect(store.writes).toBe(writesBefore);
    expect(engine.list().programs).toHaveLength(1);
  });

  it("puts every changed subsystem back when a later subsystem fails, and stores nothing", async () => {
    const { engine, kernel, store, metrics } = await readyEngine();
    await engine.put(qos);
    const before = kernel.snapshot();
    const changed = rehash(qos, (p) => {
      p.spec.maps.fos1_qos_classes[0].value.dscp = 10;
      p.spec.tc[0].classes[1].ceilBps = 90_000_000;
    });
    kernel.tc.failures = 1;
    kernel.order.length = 0;
    const error = await engine.put(changed).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplyFailedError);
    expect((error as ApplyFailedError).subsystem).toBe("tc");
    expect((error as ApplyFailedError).rolledBack).toBe(true);
    // Forward maps, nftables, tc (fails); back tc, nftables, maps.
    expect(kernel.order).toEqual(["maps", "nftables", "tc", "tc", "nftables", "maps"]);
    expect(kernel.snapshot()).toEqual(before);
    expect(store.files.get(qos.metadata.name)?.program.hash).toBe(qos.hash);
    const rollbacks = (await metric(metrics, "fos1_agent_kernel_writes_total")).filter(
      (v) => v.labels.cause === "rollback",
    );
    expect(rollbacks.map((v) => v.labels.subsystem).sort()).toEqual(["maps", "tc"]);
  });

  it("says so when putting a subsystem back fails too", async () => {
    const { engine, kernel } = await readyEngine();
    kernel.ip.failures = 2;
    const error = (await engine.put(routing).catch((e: unknown) => e)) as ApplyFailedError;
    expect(error.subsystem).toBe("ip");
    expect(error.rolledBack).toBe(false);
    expect(error.message).toMatch(
      /applying ip failed: ip refused the change; restoring the previous state failed/,
    );
  });

  it("puts the kernel back when the program cannot be persisted", async () => {
    const { engine, kernel, store } = await readyEngine();
    store.failures = 1;
    await expect(engine.put(firewall)).rejects.toThrow(/ENOSPC/);
    expect(kernel.snapshot()).toEqual({ maps: {}, nftables: {}, tc: {}, ip: {} });
    expect(engine.list().programs).toEqual([]);
  });

  it("serialises concurrent puts: every program of a burst ends up in the kernel, the last version of each wins", async () => {
    const { engine, kernel } = await readyEngine();
    for (const r of kernel.all) r.delayMs = 2;
    const names = Array.from({ length: 12 }, (_, i) => `p${i}`);
    const results = await Promise.all(
      names.flatMap((n) => [engine.put(nftProgram(n, "counter")), engine.put(nftProgram(n, "accept"))]),
    );
    expect(results).toHaveLength(24);
    expect(kernel.nftables.kernel.size).toBe(12);
    for (const n of names) {
      expect(kernel.nftables.kernel.get(`nftables.fos1_${n}`)).toContain("accept");
    }
  });

  it("refuses, before any write, a body whose hash was not recomputed, or that does not fit this node", async () => {
    const { engine, kernel } = await readyEngine();
    const edited = structuredClone(qos);
    edited.spec.tc[0].classes[0].ceilBps = 1_000_000_000;
    await expect(engine.put(edited)).rejects.toMatchObject({
      status: 400,
      problems: [{ path: "hash", message: expect.any(String) }],
    });

    const wrong = rehash(qos, (p) => {
      p.metadata.node = "router-2";
      p.spec.tc[0].classes[1].rateBps = p.spec.tc[0].bandwidthBps + 1;
      p.spec.tc[1].device = "eth9";
      p.spec.config.mirror_interface = "eth7";
    });
    const error = (await engine.put(wrong).catch((e: unknown) => e)) as RejectedError;
    expect(error).toBeInstanceOf(RejectedError);
    expect(error.problems.map((p) => p.path).sort()).toEqual([
      "metadata.node",
      "spec.config.mirror_interface",
      "spec.tc[0].classes[1].rateBps",
      "spec.tc[0].classes[1].rateBps",
      "spec.tc[1].device",
    ]);
    expect(
      error.problems.filter((p) => p.path === "spec.tc[0].classes[1].rateBps").map((p) => p.message),
    ).toEqual([
      "100000001 bit/s exceeds the uplink's 100000000 bit/s",
      expect.stringMatching(/^rate 100000001 exceeds ceil/),
    ]);
    // Only the start-up pass ever reached the subsystems.
    expect(kernel.all.map((r) => r.applies)).toEqual([1, 1, 1, 1]);
    expect(kernel.snapshot()).toEqual({ maps: {}, nftables: {}, tc: {}, ip: {} });
  });
});

describe("ReconcileEngine put of a body", () => {
  it("reads every subsystem before the body is parsed; a body refused then leaves kernel and store as they were", async () => {
    const { engine, kernel, store } = await readyEngine();
    await engine.put(qos);
    const before = kernel.snapshot();
    const writesBefore = store.writes;
    const reads = kernel.all.map((r) => jest.spyOn(r, "read"));
    const refusal = new Error("not a NodeProgram");
    const parse = jest.fn(() => {
      expect(reads.map((r) => r.mock.calls.length)).toEqual([1, 1, 1, 1]);
      throw refusal;
    });
    await expect(engine.putBody("qos-default-qos-policy", Buffer.from("{}"), parse)).rejects.toBe(refusal);
    expect(parse).toHaveBeenCalledTimes(1);
    expect(kernel.snapshot()).toEqual(before);
    expect([store.writes, store.staged]).toEqual([writesBefore, 0]);
  });

  it("uses the reads started before the body arrived, unless another task ran in between", async () => {
    const { engine, kernel } = await readyEngine();
    const body = Buffer.from(JSON.stringify(qos));
    const reads = kernel.all.map((r) => jest.spyOn(r, "read"));
    const count = () => reads.map((r) => r.mock.calls.length);

    const ahead = engine.readAhead()!;
    expect(count()).toEqual([1, 1, 1, 1]);
    await engine.putBody(qos.metadata.name, body, () => ({ program: qos, hashChecked: false }), ahead);
    expect(count()).toEqual([1, 1, 1, 1]);
    const held = kernel.snapshot();
    expect(Object.keys(held.maps).length).toBeGreaterThan(0);

    // Read while the program's entries are there; a DELETE runs before the next PUT's turn and removes them.
    const stale = engine.readAhead()!;
    await engine.delete(qos.metadata.name);
    expect(Object.keys(kernel.snapshot().maps)).toEqual([]);
    await engine.putBody(qos.metadata.name, body, () => ({ program: qos, hashChecked: false }), stale);
    // The read ahead, the DELETE's own read and a fresh one.
    expect(count()).toEqual([4, 4, 4, 4]);
    expect(kernel.snapshot()).toEqual(held);
  });

  it("reads nothing ahead while a task is queued or running", async () => {
    const { engine } = await readyEngine();
    const put = engine.put(qos);
    expect(engine.readAhead()).toBeUndefined();
    await put;
    expect(engine.readAhead()).toBeDefined();
  });

  it("writes the program file while the kernel is written, and makes it the stored one after", async () => {
    const { engine, kernel, store } = await readyEngine();
    kernel.tc.delayMs = 20;
    const put = engine.putBody(qos.metadata.name, Buffer.from(JSON.stringify(qos)), () => ({
      program: qos,
      hashChecked: false,
    }));
    await new Promise((r) => setTimeout(r, 5));
    expect([store.staged, store.files.size]).toEqual([1, 0]);
    await put;
    expect([store.staged, store.files.get(qos.metadata.name)?.program.hash]).toEqual([0, qos.hash]);
  });

  it("drops the staged program file when the kernel refuses the change, or the hash does not match", async () => {
    const { engine, kernel, store } = await readyEngine();
    kernel.tc.failures = 1;
    await expect(engine.put(qos)).rejects.toBeInstanceOf(ApplyFailedError);
    const edited = structuredClone(qos);
    edited.spec.tc[0].classes[0].ceilBps = 1_000_000_000;
    await expect(engine.put(edited)).rejects.toMatchObject({ status: 400 });
    expect([store.staged, store.files.size]).toEqual([0, 0]);
    expect(engine.list().programs).toEqual([]);
  });
});

describe("ReconcileEngine without some subsystems", () => {
  it("refuses (422) a program needing a subsystem that is not wired, naming the parts", async () => {
    const kernel = fakeKernel();
    const engine = new ReconcileEngine({
      reconcilers: [kernel.nftables, kernel.tc, kernel.ip],
      store: new MemoryStore(),
      facts: branchRouter1,
      metrics: new AgentMetrics(),
      log: silentLogger,
    });
    await engine.restore();
    await engine.reconcile();
    const error = (await engine.put(routing).catch((e: unknown) => e)) as RejectedError;
    expect(error.status).toBe(422);
    expect(error.problems.map((p) => p.path)).toEqual([
      "spec.maps.fos1_route_policy",
      "spec.maps.fos1_segments",
      "spec.config",
    ]);
    // Application control's first-packet denies live in a map: without eBPF the firewall is refused too.
    const refused = (await engine.put(firewall).catch((e: unknown) => e)) as RejectedError;
    expect(refused.problems.map((p) => p.path)).toEqual(["spec.maps.fos1_app_deny"]);
    const nftOnly = rehash(firewall, (p) => {
      p.spec.maps = {};
    });
    expect((await engine.put(nftOnly)).writes.nftables).toBe(1);
  });
});

describe("ReconcileEngine start-up, state and drift", () => {
  it("is not ready before the stored programs are re-applied, then applies them without counting drift", async () => {
    const store = new MemoryStore();
    store.files.set(qos.metadata.name, { program: qos, appliedAt: "2020-01-01T00:00:00.000Z" });
    store.files.set(firewall.metadata.name, { program: firewall, appliedAt: "2020-01-01T00:00:00.000Z" });
    const kernel = fakeKernel();
    const metrics = new AgentMetrics();
    const engine = new ReconcileEngine({
      reconcilers: kernel.all,
      store,
      facts: branchRouter1,
      metrics,
      log: silentLogger,
    });
    await engine.restore();
    expect(engine.ready).toBe(false);
    await expect(engine.put(routing)).rejects.toBeInstanceOf(NotReadyError);
    await expect(engine.state(qos.metadata.name)).rejects.toBeInstanceOf(NotReadyError);

    kernel.nftables.failures = 1;
    const failed = await engine.reconcile();
    expect(failed.failed).toEqual(["nftables"]);
    expect(engine.ready).toBe(false);

    const pass = await engine.reconcile();
    expect(pass.failed).toEqual([]);
    expect(engine.ready).toBe(true);
    expect(kernel.tc.kernel.size).toBe(qos.spec.tc.length);
    expect(await metric(metrics, "fos1_agent_drift_repairs_total")).toEqual([]);
    expect((await engine.state(qos.metadata.name))?.appliedAt).toBe("2020-01-01T00:00:00.000Z");
  });

  it("reports drift attributed to the owning program, repairs it on the next pass and counts the repair", async () => {
    const { engine, kernel, metrics } = await readyEngine();
    await engine.put(qos);
    await engine.put(firewall);
    kernel.nftables.kernel.clear();
    kernel.tc.kernel.delete("tc.wan1");

    const qosState = await engine.state(qos.metadata.name);
    expect(qosState?.drift.map((d) => d.path)).toEqual(["spec.tc.wan1"]);
    const firewallState = await engine.state(firewall.metadata.name);
    expect(firewallState?.drift).toEqual([
      { path: `spec.nftables.${firewall.spec.nftables!.table}`, expected: expect.any(String), actual: null },
    ]);

    const pass = await engine.reconcile();
    expect(pass.writes).toEqual({ maps: 0, nftables: 1, tc: 1, ip: 0 });
    expect((await engine.state(qos.metadata.name))?.drift).toEqual([]);
    const repairs = await metric(metrics, "fos1_agent_drift_repairs_total");
    expect(repairs.map((v) => [v.labels.subsystem, v.value]).sort()).toEqual([
      ["nftables", 1],
      ["tc", 1],
    ]);
    expect((await engine.reconcile()).writes).toEqual({ maps: 0, nftables: 0, tc: 0, ip: 0 });
  });

  it("lets a PUT's caller have its answer before a pass queued behind the PUT reads the kernel", async () => {
    const { engine, kernel } = await readyEngine();
    const order: string[] = [];
    const put = engine.put(qos).then(() => order.push("put answered"));
    const passed = engine.reconcile().then(() => order.push("pass done"));
    const applies = kernel.maps.applies;
    await put;
    // The caller continues (and the agent sends the answer) with the pass not started yet.
    expect(kernel.maps.applies).toBe(applies + 1);
    await passed;
    expect(order).toEqual(["put answered", "pass done"]);
    expect(kernel.maps.applies).toBe(applies + 2);
  });

  it("answers undefined for programs it does not hold", async () => {
    const { engine } = await readyEngine();
    expect(await engine.state("qos-nothing")).toBeUndefined();
    expect(await engine.delete("qos-nothing")).toBeUndefined();
  });
});

describe("ReconcileEngine with a reconciler that cannot build a program's state", () => {
  it("refuses with 400 at the path the reconciler names, before any write", async () => {
    const { engine, kernel } = await readyEngine();
    const original = kernel.tc.desired.bind(kernel.tc);
    kernel.tc.desired = (programs) => {
      if (programs.some((p) => p.metadata.name === qos.metadata.name)) {
        throw new Error("spec.tc[0].defaultClass: 1:1 is not a leaf class of this tree");
      }
      return original(programs);
    };
    const error = (await engine.put(qos).catch((e: unknown) => e)) as RejectedError;
    expect(error).toBeInstanceOf(RejectedError);
    expect(error.status).toBe(400);
    expect(error.problems).toEqual([
      { path: "spec.tc[0].defaultClass", message: "1:1 is not a leaf class of this tree" },
    ]);
    expect(kernel.snapshot()).toEqual({ maps: {}, nftables: {}, tc: {}, ip: {} });
  });
});
