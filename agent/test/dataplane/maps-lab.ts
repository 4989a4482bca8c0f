import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { AgentClient } from "@fos1/dpi/sdk/agent-api";
import { compileSite, isPolicyDocument, type NodeProgram } from "@fos1/dpi/sdk/compile";
import { loadYamlDocuments, type Site } from "@fos1/dpi/sdk/schema";
import { spawnAgent, startSocketRelay } from "./agent-launch";
import { httpsRequest } from "../unit/fixtures/https-request";
import { selfSignedTls } from "../unit/fixtures/tls";

const run = promisify(execFile);
const root = join(__dirname, "..", "..", "..");
export const OBJECTS_DIR = join(root, "bpf", "build");

export const SERVER = "192.0.2.10";
export const CLIENT = "10.10.1.2";

/** The DESIGN.md fast-path policy shape: streaming and cloud storage may be offloaded, payments never leave the slow path. */
export const FAST_PATH_POLICY_YAML = `apiVersion: networking.fos1.io/v1
kind: FastPathPolicy
metadata: { name: lab-fast-path }
spec:
  offload:
    - { name: streaming, applications: ["youtube", "netflix"], minInspectedPackets: 8 }
  criticalZones:
    - { name: payments, prefixes: [10.10.50.0/24] }
  watchlists: { addresses: [192.0.2.66] }
  sampling: { oneIn: 64 }
  reinspectAfter: 5m
`;

/**
 * A router site of network namespaces with the real agent process, eBPF on,
 * running in the router namespace against a private bpffs that this lab
 * mounts (so pins outlive an agent killed with -9, as /sys/fs/bpf does on a
 * node). Topology as test/dataplane/site.ts, every name starting with `am`:
 *
 *   client (amc0 10.10.1.2) -- (amlan0) router (amwan1) -- (amup1) isp1 [192.0.2.10]
 *                                              (amwan2) -- (amup2) isp2 [192.0.2.10]
 *
 * The agent listens on a Unix socket; a relay on the host's loopback lets
 * AgentClient reach it over HTTPS without linking any namespace to the host.
 */
export class MapsLab {
  readonly ns: {
    readonly client: string;
    readonly router: string;
    readonly isp1: string;
    readonly isp2: string;
  };
  readonly dev = {
    client: "amc0",
    lan: "amlan0",
    wan1: "amwan1",
    wan2: "amwan2",
    up1: "amup1",
    up2: "amup2",
    /** The mirror veth pair inside the router, when asked for: the programs clone to mirror, sensors listen on sensor. */
    mirror: "ammir0",
    sensor: "ammir1",
  };
  readonly token = "am-lab-token-" + Math.random().toString(36).slice(2) + "-0123456789";
  readonly dir = mkdtempSync(join(tmpdir(), "am-lab-"));
  readonly bpffs = join(this.dir, "bpffs");
  readonly pinRoot = join(this.bpffs, "fos1");
  private readonly tls = selfSignedTls();
  private readonly socket = join(this.dir, "agent.sock");
  private readonly processes = new Set<ChildProcess>();
  private relay?: Server;
  private readonly relayed = new Set<Socket>();
  private relayPort = 0;
  private agent?: ChildProcess;
  private mounted = false;
  /** Everything the agent printed. */
  output = "";

  /** `node` names the router in the site and the agent: routers sharing one etcd need distinct names. */
  constructor(
    tag: string,
    readonly node = "router",
  ) {
    const p = `am${tag}`;
    this.ns = { client: `${p}c`, router: `${p}r`, isp1: `${p}i1`, isp2: `${p}i2` };
  }

  get client(): AgentClient {
    return new AgentClient({
      url: `https://127.0.0.1:${this.relayPort}`,
      token: this.token,
      ca: this.tls.cert,
    });
  }

  /** The site the policies compile against: two 100 Mbit/s uplinks, a guest segment, one node "router". */
  site(): Site {
    const yaml = `apiVersion: networking.fos1.io/v1
kind: Site
metadata: { name: am-lab }
spec:
  uplinks:
    - { name: isp1, interface: ${this.dev.wan1}, bandwidth: 100Mbit, gateway: 198.51.100.1, default: true }
    - { name: isp2, interface: ${this.dev.wan2}, bandwidth: 100Mbit, gateway: 203.0.113.1 }
  lan: { interfaces: [${this.dev.lan}], prefixes: [10.10.0.0/16] }
  segments:
    - { name: guest, prefixes: [10.10.200.0/24] }
  nodes:
    - { name: ${this.node}, agent: { url: "https://10.10.1.1:9443" } }
`;
    return valid(yaml, "am-lab.yaml")[0] as Site;
  }

  compile(policiesYaml: string): NodeProgram[] {
    const policies = valid(policiesYaml, "policies.yaml").filter(isPolicyDocument);
    const { programs, problems } = compileSite(policies, this.site());
    if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
    return programs;
  }

  /**
   * Builds the site and writes the agent's config; `agent` adds or replaces
   * top-level config keys (ingest, cluster); `mirror` adds the mirror pair.
   */
  async setup(
    agent: Record<string, unknown> = {},
    options: { readonly mirror?: boolean } = {},
  ): Promise<void> {
    await this.teardownKernel();
    const { client, router, isp1, isp2 } = this.ns;
    for (const ns of [client, router, isp1, isp2]) await run("ip", ["netns", "add", ns]);
    const veth = (a: string, da: string, b: string, db: string) =>
      run("ip", ["-n", a, "link", "add", da, "type", "veth", "peer", "name", db, "netns", b]);
    await veth(router, this.dev.lan, client, this.dev.client);
    await veth(router, this.dev.wan1, isp1, this.dev.up1);
    await veth(router, this.dev.wan2, isp2, this.dev.up2);
    if (options.mirror) {
      await veth(router, this.dev.mirror, router, this.dev.sensor);
      for (const dev of [this.dev.mirror, this.dev.sensor]) {
        // No addresses, no IPv6 chatter: only what the programs clone shows up on the pair.
        await this.exec(router, "sysctl", ["-q", "-w", `net.ipv6.conf.${dev}.disable_ipv6=1`]);
        await this.exec(router, "ip", ["link", "set", dev, "up"]);
      }
    }
    const addrs: [string, string, string][] = [
      [client, this.dev.client, `${CLIENT}/24`],
      [router, this.dev.lan, "10.10.1.1/24"],
      [router, this.dev.wan1, "198.51.100.2/24"],
      [router, this.dev.wan2, "203.0.113.2/24"],
      [isp1, this.dev.up1, "198.51.100.1/24"],
      [isp1, "lo", `${SERVER}/32`],
      [isp2, this.dev.up2, "203.0.113.1/24"],
      [isp2, "lo", `${SERVER}/32`],
    ];
    for (const [ns, dev, cidr] of addrs) await run("ip", ["-n", ns, "addr", "add", cidr, "dev", dev]);
    for (const [ns, dev] of [...addrs.map(([n, d]) => [n, d]), [client, "lo"], [router, "lo"]])
      await run("ip", ["-n", ns!, "link", "set", dev!, "up"]);
    await this.exec(client, "ip", ["route", "add", "default", "via", "10.10.1.1"]);
    await this.exec(router, "ip", ["route", "add", "default", "via", "198.51.100.1"]);
    await this.exec(isp1, "ip", ["route", "add", "10.10.0.0/16", "via", "198.51.100.2"]);
    await this.exec(isp2, "ip", ["route", "add", "10.10.0.0/16", "via", "203.0.113.2"]);
    const sysctls = [
      "net.ipv4.ip_forward=1",
      "net.ipv4.conf.all.rp_filter=0",
      "net.ipv4.conf.default.rp_filter=0",
    ];
    for (const dev of [this.dev.lan, this.dev.wan1, this.dev.wan2])
      sysctls.push(`net.ipv4.conf.${dev}.rp_filter=0`);
    await this.exec(router, "sysctl", ["-q", "-w", ...sysctls]);

    mkdirSync(this.bpffs, { recursive: true });
    await run("mount", ["-t", "bpf", "bpf", this.bpffs]);
    this.mounted = true;
    writeFileSync(join(this.dir, "token"), this.token);
    writeFileSync(
      join(this.dir, "agent.json"),
      JSON.stringify({
        node: this.node,
        listen: { socket: this.socket },
        tls: { certFile: this.tls.certFile, keyFile: this.tls.keyFile },
        tokenFile: join(this.dir, "token"),
        stateDir: join(this.dir, "state"),
        reconcileInterval: "300ms",
        bpf: { pinRoot: this.pinRoot, objectsDir: OBJECTS_DIR, enabled: true, offloadLease: "3s" },
        interfaces: {
          uplinks: { isp1: this.dev.wan1, isp2: this.dev.wan2 },
          lan: [this.dev.lan],
          ...(options.mirror ? { mirror: this.dev.mirror } : {}),
        },
        ...agent,
      }),
    );
    ({ server: this.relay, port: this.relayPort } = await startSocketRelay(this.socket, this.relayed));
  }

  /** Starts the agent in the router namespace; resolves once /readyz answers 200. */
  async start(): Promise<void> {
    const child = spawnAgent(this.ns.router, join(this.dir, "agent.json"), (text) => (this.output += text));
    this.agent = child;
    const started = Date.now();
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the agent exited (${child.exitCode ?? child.signalCode}):\n${this.output}`);
      if (Date.now() - started > 30_000) throw new Error(`the agent was not ready in 30 s:\n${this.output}`);
      const probe = await httpsRequest(`https://127.0.0.1:${this.relayPort}/readyz`, {
        ca: this.tls.cert,
      }).catch(() => undefined);
      if (probe?.status === 200) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sum of a metric's samples whose line starts with `name` (labels included). */
  async metric(name: string): Promise<number> {
    const res = await httpsRequest(`https://127.0.0.1:${this.relayPort}/metrics`, {
      ca: this.tls.cert,
      headers: { authorization: `Bearer ${this.token}` },
    });
    return res.text
      .split("\n")
      .filter((line) => line.startsWith(name))
      .reduce((sum, line) => sum + Number(line.split(" ").pop()), 0);
  }

  async kill9(): Promise<void> {
    const child = this.agent;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async exec(ns: string, file: string, args: readonly string[]): Promise<string> {
    const { stdout } = await run("ip", ["netns", "exec", ns, file, ...args], { maxBuffer: 256 << 20 });
    return stdout;
  }

  /** A long-running program in a namespace, killed at teardown. */
  background(ns: string, file: string, args: readonly string[]): ChildProcess {
    const child = spawn("ip", ["netns", "exec", ns, file, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    this.processes.add(child);
    child.on("exit", () => this.processes.delete(child));
    return child;
  }

  /** A long-running program in a namespace, killed at teardown; resolves once it prints `ready`. */
  serve(ns: string, file: string, args: readonly string[], ready: RegExp): Promise<ChildProcess> {
    const child = this.background(ns, file, args);
    return new Promise((resolve, reject) => {
      let seen = "";
      const timer = setTimeout(() => reject(new Error(`${file} in ${ns} did not start: ${seen}`)), 5000);
      const watch = (chunk: Buffer) => {
        seen += chunk.toString();
        if (ready.test(seen)) {
          clearTimeout(timer);
          resolve(child);
        }
      };
      child.stdout!.on("data", watch);
      child.stderr!.on("data", watch);
      child.once("exit", (code) => reject(new Error(`${file} in ${ns} exited (${code}): ${seen}`)));
    });
  }

  /** tcpdump -v in a namespace; `stop()` returns the lines it printed. */
  async capture(ns: string, dev: string, filter: string): Promise<{ stop(): Promise<string[]> }> {
    const child = await this.serve(ns, "tcpdump", ["-n", "-l", "-v", "-i", dev, filter], /listening on/);
    let out = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    return {
      stop: async () => {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGINT");
        await exited;
        return out.split("\n").filter((l) => l.trim() !== "");
      },
    };
  }

  /** A pinned map as `bpftool -j map dump` shows it: raw key and value bytes. */
  async bpftoolDump(map: string): Promise<{ key: Buffer; value: Buffer }[]> {
    const { stdout } = await run("bpftool", ["-j", "map", "dump", "pinned", join(this.pinRoot, map)], {
      maxBuffer: 256 << 20,
    });
    const bytes = (hex: string[]) => Buffer.from(hex.map((h) => parseInt(h, 16)));
    return (JSON.parse(stdout) as { key: string[]; value: string[] }[]).map((e) => ({
      key: bytes(e.key),
      value: bytes(e.value),
    }));
  }

  /** Program id of fos1's tc filter on a hook in the router namespace, as tc reports it. */
  async attachedId(dev: string, hook: "ingress" | "egress"): Promise<number | undefined> {
    const filters = JSON.parse(
      await this.exec(this.ns.router, "tc", ["-j", "filter", "show", "dev", dev, hook]),
    ) as {
      options?: { prog?: { id: number } };
    }[];
    return filters.find((f) => f.options?.prog)?.options?.prog?.id;
  }

  async teardown(): Promise<void> {
    await this.kill9();
    await this.teardownKernel();
    for (const s of this.relayed) s.destroy();
    await new Promise<void>((resolve) => (this.relay ? this.relay.close(() => resolve()) : resolve()));
    this.relay = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async teardownKernel(): Promise<void> {
    for (const child of this.processes) child.kill("SIGKILL");
    this.processes.clear();
    const existing = (await run("ip", ["netns", "list"]).catch(() => ({ stdout: "" }))).stdout;
    for (const ns of Object.values(this.ns)) {
      if (new RegExp(`^${ns}( |$)`, "m").test(existing))
        await run("ip", ["netns", "del", ns]).catch(() => undefined);
    }
    if (this.mounted) await run("umount", [this.bpffs]).catch(() => undefined);
    this.mounted = false;
  }
}

function valid(yaml: string, file: string) {
  const { documents, problems } = loadYamlDocuments(yaml, file);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  return documents.map((d) => d.document);
}
