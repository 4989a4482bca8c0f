import { PolicyController } from "@fos1/dpi/agent/src/controller/controller";
import { LeaderLease } from "@fos1/dpi/agent/src/controller/leader-lease";
import { whileLeading } from "@fos1/dpi/agent/src/controller/main";
import { FINALIZER, type PolicyStatus } from "@fos1/dpi/agent/src/controller/policy-resource";
import type { ReconcileContext } from "@fos1/dpi/agent/src/controller/reconcile";
import { KubernetesApi } from "@fos1/dpi/agent/src/kubernetes/api";
import type { Logger, LogFields } from "@fos1/dpi/agent/src/log";
import { AgentClient } from "@fos1/dpi/sdk/agent-api";
import { compileProgram, type NodeProgram, type PolicyDocument } from "@fos1/dpi/sdk/compile";
import { validateKind } from "@fos1/dpi/sdk/schema/documents";
import type { Site } from "@fos1/dpi/sdk/schema/site";
import { FakeKubernetesApiServer } from "./controller-fake-api-server";
import { fakeKernel } from "./fixtures/fake-reconciler";
import { eventually, startTestAgent, type TestAgent } from "./fixtures/test-agent";

/**
 * The controller process around its reconcile function, against a stand-in
 * for the Kubernetes API server and two in-process agents (fake kernels):
 * list and watch of the policy resources, status and finalizer write-back,
 * what happens when a watch ends, drops or answers 410 Gone, malformed
 * resources, and leader election between two controllers on one Lease.
 */

const QOS = "qospolicies";
const ROUTING = "routingpolicies";

function qosPolicy(name: string, webMax = "60%", applications = ["http", "https"]) {
  return {
    apiVersion: "networking.fos1.io/v1",
    kind: "QoSPolicy",
    metadata: { name },
    spec: {
      classes: [
        {
          name: "voip",
          applications: ["sip", "rtp", "zoom"],
          priority: "high",
          bandwidth: { min: "20%", max: "40%" },
        },
        { name: "web", applications, priority: "medium", bandwidth: { min: "10%", max: webMax } },
      ],
    },
  };
}

const ROUTING_POLICY = {
  apiVersion: "networking.fos1.io/v1",
  kind: "RoutingPolicy",
  metadata: { name: "application-routing" },
  spec: {
    rules: [
      { name: "streaming-via-isp2", applications: ["netflix", "youtube"], action: { routeVia: "isp2" } },
      { name: "guest-via-internet", networkSegment: "guest", action: { routeVia: "default-internet" } },
    ],
  },
};

interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly fields?: LogFields;
}

function recordingLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (msg: string, fields?: LogFields) => lines.push({ level, msg, fields });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** The site of the two test agents, with each node's agent at its in-process URL. */
function siteOf(agents: readonly TestAgent[]): Site {
  const result = validateKind("Site", {
    apiVersion: "networking.fos1.io/v1",
    kind: "Site",
    metadata: { name: "pv-site" },
    spec: {
      uplinks: [
        { name: "isp1", interface: "wan1", bandwidth: "100Mbit", gateway: "198.51.100.1", default: true },
        { name: "isp2", interface: "wan2", bandwidth: "50Mbit", gateway: "203.0.113.1" },
      ],
      lan: { interfaces: ["lan0"], prefixes: ["10.10.0.0/16"] },
      segments: [{ name: "guest", prefixes: ["10.10.200.0/24"] }],
      nodes: agents.map((t, i) => ({ name: `router-${i + 1}`, agent: { url: t.agent.url } })),
    },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.value;
}

/** What `document` compiles to on `node`, as the controller must PUT it. */
function compiled(site: Site, document: object, node: string): NodeProgram {
  const result = validateKind((document as { kind: "QoSPolicy" }).kind, document);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return compileProgram(result.value as PolicyDocument, site, node);
}

const statusOf = (server: FakeKubernetesApiServer, plural: string, name: string) =>
  server.get(plural, name)?.status as PolicyStatus | undefined;

describe("controller process against a fake API server", () => {
  const server = new FakeKubernetesApiServer();
  const agents: TestAgent[] = [];
  /** Programs PUT to the agents, by node. */
  const puts: Array<{ node: string; program: string; hash: string }> = [];
  const logs: LogLine[] = [];
  let site: Site;
  let context: ReconcileContext;
  let stop: AbortController;
  let running: Promise<void>;

  const errors = () => logs.filter((l) => l.level === "error");
  const lists = (plural: string) =>
    server.calls.filter(
      (c) => c.method === "GET" && c.path.endsWith(`/${plural}`) && c.query.watch !== "true",
    );

  function startController(resyncMs = 60_000): { stop: AbortController; running: Promise<void> } {
    const abort = new AbortController();
    const controller = new PolicyController({
      api: server.client(),
      context,
      log: recordingLogger(logs),
      resyncMs,
      retryMs: 50,
    });
    return { stop: abort, running: controller.run(abort.signal) };
  }

  beforeAll(async () => {
    await server.start();
    agents.push(await startTestAgent(fakeKernel().all));
    agents.push(await startTestAgent(fakeKernel().all, { node: "router-2" }));
    site = siteOf(agents);
    context = {
      site,
      agentFor: (node) => {
        const index = site.spec.nodes.findIndex((n) => n.name === node.name);
        const t = agents[index];
        const client = new AgentClient({ url: t.agent.url, token: t.token, ca: t.ca });
        const put = client.putProgram.bind(client);
        client.putProgram = (program) => {
          puts.push({ node: node.name, program: program.metadata.name, hash: program.hash });
          return put(program);
        };
        return client;
      },
    };
    ({ stop, running } = startController());
    await eventually(() => server.openWatches() === 2);
  });

  afterAll(async () => {
    stop.abort();
    await running;
    await Promise.all(agents.map((t) => t.agent.stop()));
    await server.stop();
  });

  it("reconciles an applied QoSPolicy: each agent holds its node's program, the resource gets the finalizer and one status write", async () => {
    const policy = qosPolicy("office-qos");
    server.apply(QOS, policy);
    await eventually(() => statusOf(server, QOS, "office-qos")?.applied === "2/2");

    const stored = server.get(QOS, "office-qos")!;
    const status = stored.status as PolicyStatus;
    expect(stored.metadata.finalizers).toEqual([FINALIZER]);
    expect(status.problems).toEqual([]);
    expect(status.observedGeneration).toBe(1);
    for (const [i, node] of ["router-1", "router-2"].entries()) {
      const expected = compiled(site, policy, node);
      expect(status.nodes[i]).toMatchObject({
        node,
        program: "qos-office-qos",
        hash: expected.hash,
        drift: 0,
      });
      expect((await agents[i].client.getProgram("qos-office-qos"))?.program.hash).toBe(expected.hash);
    }
    // The status write's own MODIFIED event reconciles again and finds nothing new to write.
    await new Promise((r) => setTimeout(r, 300));
    const statusWrites = server.calls.filter(
      (c) => c.method === "PATCH" && c.path.endsWith("/office-qos/status"),
    );
    expect(statusWrites).toHaveLength(1);
    expect(statusWrites[0].contentType).toBe("application/merge-patch+json");
    expect(errors()).toEqual([]);
  });

  it("reconciles a RoutingPolicy through its own watch", async () => {
    server.apply(ROUTING, ROUTING_POLICY);
    await eventually(() => statusOf(server, ROUTING, "application-routing")?.applied === "2/2");
    const expected = compiled(site, ROUTING_POLICY, "router-2");
    expect((await agents[1].client.getProgram("routing-application-routing"))?.program.hash).toBe(
      expected.hash,
    );
  });

  it("picks up a change made while no watch is open: the list after a watch ends carries it", async () => {
    const lists0 = lists(QOS).length;
    const changed = qosPolicy("office-qos", "70%");
    // The watch ends and the change lands before the controller is back: no watch ever sends its event.
    server.endWatches();
    server.apply(QOS, changed);
    await eventually(() => statusOf(server, QOS, "office-qos")?.observedGeneration === 2);
    expect(lists(QOS).length).toBeGreaterThan(lists0);
    const expected = compiled(site, changed, "router-1");
    expect(statusOf(server, QOS, "office-qos")?.nodes[0].hash).toBe(expected.hash);
    expect((await agents[0].client.getProgram("qos-office-qos"))?.program.hash).toBe(expected.hash);
    await eventually(() => server.openWatches() === 2);
  });

  it("picks up a change after a watch connection drops mid-stream", async () => {
    const changed = qosPolicy("office-qos", "75%");
    server.dropWatches();
    server.apply(QOS, changed);
    await eventually(() => statusOf(server, QOS, "office-qos")?.observedGeneration === 3);
    expect(statusOf(server, QOS, "office-qos")?.nodes[1].hash).toBe(compiled(site, changed, "router-2").hash);
    await eventually(() => server.openWatches() === 2);
  });

  it.each([
    ["an ERROR event with 410 Gone", "expired-event"],
    ["a 410 Gone status", "expired-status"],
  ] as const)(
    "re-lists when the watch answers %s, without losing the change it missed",
    async (_how, fault) => {
      const generation = statusOf(server, QOS, "office-qos")!.observedGeneration!;
      const changed = qosPolicy("office-qos", fault === "expired-event" ? "80%" : "85%");
      const errorsBefore = errors().length;
      const lists0 = lists(QOS).length;
      // The change lands after the controller's list and before its watch, whose version is then too old.
      server.failNextWatch(QOS, fault, () => {
        server.apply(QOS, changed);
        server.compact();
      });
      server.endWatches();
      await eventually(() => statusOf(server, QOS, "office-qos")?.observedGeneration === generation + 1);
      expect(statusOf(server, QOS, "office-qos")?.nodes[0].hash).toBe(
        compiled(site, changed, "router-1").hash,
      );
      // One list before the failed watch, one after it.
      expect(lists(QOS).length).toBe(lists0 + 2);
      // 410 is how the API server asks for a re-list: nothing to log as an error.
      expect(errors().slice(errorsBefore)).toEqual([]);
      await eventually(() => server.openWatches() === 2);
    },
  );

  it("ends a watch whose stream carries a line that is not JSON, and lists again", async () => {
    const changed = qosPolicy("office-qos", "90%");
    const generation = statusOf(server, QOS, "office-qos")!.observedGeneration!;
    server.failNextWatch(QOS, "garbage", () => server.apply(QOS, changed));
    server.endWatches();
    await eventually(() => statusOf(server, QOS, "office-qos")?.observedGeneration === generation + 1);
    expect(statusOf(server, QOS, "office-qos")?.nodes[0].hash).toBe(compiled(site, changed, "router-1").hash);
    expect(errors().at(-1)).toMatchObject({ msg: "list or watch failed" });
    await eventually(() => server.openWatches() === 2);
  });

  it("writes the problems of a malformed QoSPolicy to its status at their paths, and sends no program", async () => {
    const putsBefore = puts.length;
    const bad = qosPolicy("bad-qos", "60%", ["http", "bogus-app"]);
    (bad.spec.classes[0] as { priority: string }).priority = "urgent";
    server.apply(QOS, bad);
    await eventually(() => statusOf(server, QOS, "bad-qos") !== undefined);

    const status = statusOf(server, QOS, "bad-qos")!;
    expect(status.applied).toBe("0/2");
    const byPath = Object.fromEntries(status.problems.map((p) => [p.path, p.message]));
    expect(Object.keys(byPath).sort()).toEqual([
      "spec.classes[0].priority",
      "spec.classes[1].applications[1]",
    ]);
    expect(byPath["spec.classes[0].priority"]).toMatch(/high.*medium.*low/);
    expect(byPath["spec.classes[1].applications[1]"]).toMatch(/unknown application "bogus-app"/);
    expect(status.nodes.map((n) => n.error)).toEqual([
      "the agent holds no such program",
      "the agent holds no such program",
    ]);
    expect(puts.slice(putsBefore).filter((p) => p.program === "qos-bad-qos")).toEqual([]);
    expect(server.get(QOS, "bad-qos")!.metadata.finalizers).toBeUndefined();
    for (const t of agents) expect(await t.client.getProgram("qos-bad-qos")).toBeUndefined();
  });

  it("writes the problem of a spec of the wrong shape, and sends no program", async () => {
    const putsBefore = puts.length;
    server.apply(QOS, { ...qosPolicy("shapeless-qos"), spec: { classes: "voip" } });
    await eventually(() => statusOf(server, QOS, "shapeless-qos") !== undefined);
    const status = statusOf(server, QOS, "shapeless-qos")!;
    expect(status.problems.map((p) => p.path)).toEqual(["spec.classes"]);
    expect(status.problems[0].message).toMatch(/array/);
    expect(puts.slice(putsBefore)).toEqual([]);
  });

  it("keeps the last valid programs when a resource turns invalid, and says so in its status", async () => {
    const held = (await agents[0].client.getProgram("qos-office-qos"))!.program.hash;
    const putsBefore = puts.length;
    server.apply(QOS, qosPolicy("office-qos", "60%", ["http", "no-such-app"]));
    await eventually(() => (statusOf(server, QOS, "office-qos")?.problems.length ?? 0) > 0);
    const status = statusOf(server, QOS, "office-qos")!;
    expect(status.problems).toEqual([expect.objectContaining({ path: "spec.classes[1].applications[1]" })]);
    expect(status.applied).toBe("0/2");
    expect(status.nodes[0]).toMatchObject({ hash: held });
    expect(puts.slice(putsBefore)).toEqual([]);
    expect((await agents[0].client.getProgram("qos-office-qos"))!.program.hash).toBe(held);
  });

  it("on kubectl delete removes the programs from every agent, then releases the finalizer", async () => {
    server.delete(ROUTING, "application-routing");
    await eventually(() => server.get(ROUTING, "application-routing") === undefined);
    for (const t of agents) expect(await t.client.getProgram("routing-application-routing")).toBeUndefined();
  });

  it("ends a watch the server never ends at the resync period, and lists again without an error", async () => {
    server.honourWatchTimeout = false;
    const second = startController(1000);
    try {
      const lists0 = lists(ROUTING).length;
      const errorsBefore = errors().length;
      // The first list, then one per resync period.
      await eventually(() => lists(ROUTING).length >= lists0 + 3, 6000);
      expect(errors().slice(errorsBefore)).toEqual([]);
    } finally {
      second.stop.abort();
      await second.running;
      server.honourWatchTimeout = true;
    }
  });
});

describe("leader election between two controllers", () => {
  const LEASE_SECONDS = 3;
  const server = new FakeKubernetesApiServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  /** A client whose calls fail while `partitioned` is set: a replica cut off from the API server. */
  class PartitionableApi extends KubernetesApi {
    partitioned = false;
    override get<T>(path: string): Promise<T> {
      return this.partitioned ? Promise.reject(new Error("partitioned")) : super.get<T>(path);
    }
    override create<T>(path: string, body: unknown): Promise<T> {
      return this.partitioned ? Promise.reject(new Error("partitioned")) : super.create<T>(path, body);
    }
    override replace<T>(path: string, body: unknown): Promise<T> {
      return this.partitioned ? Promise.reject(new Error("partitioned")) : super.replace<T>(path, body);
    }
  }

  it("one leads; when it can no longer renew, it stops before the other takes over", async () => {
    const leading: string[] = [];
    /** When each replica started and stopped leading. */
    const spans: Record<string, { from: number; to?: number }> = {};
    const logs: LogLine[] = [];
    const replica = (identity: string) => {
      const api = new PartitionableApi(server.endpoint(), 2000);
      const lease = new LeaderLease(api, "fos1-dpi", "fos1-dpi-controller", identity, LEASE_SECONDS);
      const stop = new AbortController();
      const done = whileLeading({
        lease,
        log: recordingLogger(logs),
        signal: stop.signal,
        retryMs: 100,
        lead: async (signal) => {
          leading.push(identity);
          spans[identity] = { from: Date.now() };
          await new Promise<void>((resolve) =>
            signal.addEventListener("abort", () => resolve(), { once: true }),
          );
          spans[identity].to = Date.now();
        },
      });
      return { api, stop, done };
    };

    const a = replica("controller-a");
    await eventually(() => leading.length === 1);
    const b = replica("controller-b");
    await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1500));
    // Whole lease periods went by: the first still leads, alone, and keeps renewing.
    expect(leading).toEqual(["controller-a"]);
    expect(server.lease("fos1-dpi", "fos1-dpi-controller")?.spec).toMatchObject({
      holderIdentity: "controller-a",
      leaseDurationSeconds: LEASE_SECONDS,
    });

    a.api.partitioned = true;
    expect(await a.done).toBe("lost");
    await eventually(() => leading.length === 2, LEASE_SECONDS * 3000);
    expect(leading).toEqual(["controller-a", "controller-b"]);
    expect(server.lease("fos1-dpi", "fos1-dpi-controller")?.spec).toMatchObject({
      holderIdentity: "controller-b",
      leaseTransitions: 1,
    });
    // Never two leaders: a stopped before b started.
    expect(spans["controller-a"].to).toBeLessThanOrEqual(spans["controller-b"].from);

    b.stop.abort();
    expect(await b.done).toBe("stopped");
  });
});
