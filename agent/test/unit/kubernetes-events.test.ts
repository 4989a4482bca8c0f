import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { KubernetesEvents } from "@fos1/dpi/agent/src/runtime/kubernetes-events";
import { silentLogger } from "@fos1/dpi/agent/src/log";
import { parseSuricataEve, type DpiEvent } from "@fos1/dpi/sdk/events";
import type { Decision } from "@fos1/dpi/sdk/decide";
import { selfSignedTls } from "./fixtures/tls";

/**
 * The agent's Kubernetes Events against a stand-in for the API server (there
 * is no cluster on the build machines): an HTTPS server that answers the pod
 * lookup by address and records what the agent writes, checked for the
 * fields `kubectl describe pod` and the Event schema need.
 */
interface Call {
  readonly method: string;
  readonly path: string;
  readonly contentType?: string;
  readonly body?: Record<string, unknown>;
}

const PODS: Record<string, object> = {
  "10.244.1.5": { metadata: { name: "web-7d9f", namespace: "shop", uid: "u-1" }, spec: {} },
  "10.244.1.9": {
    metadata: { name: "node-exporter-x", namespace: "mon", uid: "u-2" },
    spec: { hostNetwork: true },
  },
};

const line = readFileSync(
  `${__dirname}/../../../../shared/testdata/suricata/fhassanabad-wrccdc-2017-alerts.eve.json`,
  "utf8",
)
  .split("\n")
  .find((l) => l.includes('"event_type":"alert"'))!;

function alert(src: string, dst: string): DpiEvent {
  const parsed = parseSuricataEve(JSON.stringify({ ...JSON.parse(line), src_ip: src, dest_ip: dst }));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.event;
}

const block: Decision = {
  kind: "block",
  target: { scope: "source", address: "10.244.1.5" },
  ttlMs: 60_000,
  reason: "r",
  cause: "risk",
};

describe("Kubernetes Events on the pods alerts are about", () => {
  const tls = selfSignedTls();
  const calls: Call[] = [];
  let server: Server;
  let url: string;
  let now = 1_800_000_000_000;

  beforeAll(async () => {
    server = createServer({ cert: tls.cert, key: readFileSync(tls.keyFile) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const u = new URL(req.url!, "https://api.invalid");
        const text = Buffer.concat(chunks).toString();
        calls.push({
          method: req.method!,
          path: u.pathname,
          ...(req.headers["content-type"] ? { contentType: req.headers["content-type"] } : {}),
          ...(text ? { body: JSON.parse(text) as Record<string, unknown> } : {}),
        });
        if (req.headers.authorization !== "Bearer sa-token") {
          res.writeHead(401).end("{}");
          return;
        }
        if (u.pathname === "/api/v1/pods") {
          const ip = /status\.podIP=(.*)/.exec(u.searchParams.get("fieldSelector") ?? "")?.[1] ?? "";
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ items: PODS[ip] ? [PODS[ip]] : [] }));
          return;
        }
        res.writeHead(201, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    calls.length = 0;
  });

  const events = () =>
    new KubernetesEvents({
      api: { url, token: () => "sa-token", ca: tls.cert },
      node: "router-1",
      log: silentLogger,
      now: () => now,
    });

  it("writes a Warning Event on the source pod naming the signature and the verdict; repeats raise its count", async () => {
    const k = events();
    k.report(alert("10.244.1.5", "192.0.2.10"), [block]);
    await k.flush();
    const posts = calls.filter((c) => c.method === "POST");
    expect(posts).toHaveLength(1);
    expect(posts[0]!.path).toBe("/api/v1/namespaces/shop/events");
    const event = posts[0]!.body!;
    expect(event).toMatchObject({
      apiVersion: "v1",
      kind: "Event",
      metadata: { namespace: "shop" },
      involvedObject: { apiVersion: "v1", kind: "Pod", name: "web-7d9f", namespace: "shop", uid: "u-1" },
      reason: "DpiBlocked",
      type: "Warning",
      count: 1,
      source: { component: "fos1-dpi-agent", host: "router-1" },
      reportingInstance: "router-1",
    });
    expect(event.message).toMatch(
      /^suricata: ET .* \(risk \d+; tcp 10\.244\.1\.5 -> 192\.0\.2\.10:\d+\); blocked$/,
    );
    expect((event.metadata as { name: string }).name).toMatch(/^web-7d9f\.fos1-dpiblocked-[0-9a-z]+$/);

    now += 10_000;
    k.report(alert("10.244.1.5", "192.0.2.10"), [block]);
    await k.flush();
    const patch = calls.find((c) => c.method === "PATCH")!;
    expect(patch.path).toBe(`/api/v1/namespaces/shop/events/${(event.metadata as { name: string }).name}`);
    expect(patch.contentType).toBe("application/merge-patch+json");
    expect(patch.body).toMatchObject({ count: 2 });
    // The pod was looked up once: its address is cached.
    expect(calls.filter((c) => c.path === "/api/v1/pods")).toHaveLength(1);
  });

  it("finds the destination pod when the source is not one; skips host-network pods and non-pods", async () => {
    const k = events();
    k.report(alert("203.0.113.7", "10.244.1.5"), []);
    k.report(alert("10.244.1.9", "203.0.113.8"), []);
    k.report(alert("203.0.113.9", "198.51.100.1"), []);
    await k.flush();
    const posts = calls.filter((c) => c.method === "POST");
    expect(
      posts.map((p) => [p.path, (p.body!.involvedObject as { name: string }).name, p.body!.reason]),
    ).toEqual([["/api/v1/namespaces/shop/events", "web-7d9f", "DpiAlert"]]);
  });

  it("says nothing about events that are not alerts and blocked nothing; a refusing API server costs no verdict", async () => {
    const k = events();
    const parsed = parseSuricataEve(
      readFileSync(
        `${__dirname}/../../../../shared/testdata/suricata/elastic-integrations-test-eve-small.eve.json`,
        "utf8",
      )
        .split("\n")
        .find((l) => l.includes('"event_type":"dns"'))!,
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    k.report(parsed.event, []);
    await k.flush();
    expect(calls).toEqual([]);

    const refused = new KubernetesEvents({
      api: { url, token: () => "wrong", ca: tls.cert },
      node: "router-1",
      log: silentLogger,
    });
    expect(() => refused.report(alert("10.244.1.5", "192.0.2.10"), [block])).not.toThrow();
    await refused.flush();
    expect(calls.map((c) => c.method)).toEqual(["GET"]);
  });
});
