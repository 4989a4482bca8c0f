import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import {
  execRunner,
  observedRunner,
  type Command,
  type CommandRunner,
} from "@fos1/dpi/agent/src/kernel/command";
import { compileSite, isPolicyDocument, type NodeProgram } from "@fos1/dpi/sdk/compile";
import { loadYamlDocuments, type Site } from "@fos1/dpi/sdk/schema";
import { median } from "../../../test/lib/median";

const run = promisify(execFile);

/** The server every uplink reaches: the same address behind isp1 and isp2, as a service on the internet is. */
export const SERVER = "192.0.2.10";
export const CLIENT = "10.10.1.2";

/**
 * The DESIGN.md QoS policy, verbatim but for its name, the uplinks it shapes
 * (all when absent) and web's maximum, which tests change.
 */
export function qosPolicyYaml(name: string, options: { uplinks?: string[]; webMax?: string } = {}): string {
  const uplinks = options.uplinks ? `  uplinks: [${options.uplinks.join(", ")}]\n` : "";
  return `apiVersion: networking.fos1.io/v1
kind: QoSPolicy
metadata: { name: ${name} }
spec:
${uplinks}  classes:
    - name: voip
      applications: ["sip", "rtp", "skype", "teams", "zoom"]
      priority: high
      bandwidth: { min: 20%, max: 40% }
    - name: web
      applications: ["http", "https"]
      priority: medium
      bandwidth: { min: 10%, max: ${options.webMax ?? "60%"} }
    - name: bulk
      applications: ["bittorrent", "ftp", "storage"]
      priority: low
      bandwidth: { max: 20% }
`;
}

/** The DESIGN.md RoutingPolicy without its MPLS rule (the test site has two uplinks): streaming via isp2, guests via isp1. */
export const ROUTING_POLICY_YAML = `apiVersion: networking.fos1.io/v1
kind: RoutingPolicy
metadata: { name: application-routing }
spec:
  rules:
    - name: streaming-via-isp2
      applications: ["netflix", "youtube", "spotify"]
      action: { routeVia: isp2 }
    - name: guest-via-internet
      networkSegment: guest
      action: { routeVia: default-internet }
`;

/**
 * A router site made of network namespaces on the local kernel: a client LAN,
 * the router (where the agent's reconcilers act), and two uplinks isp1 and
 * isp2, each a namespace holding the server address. Links are veth pairs
 * created directly between the namespaces, so nothing of the site ever
 * appears in, or routes to, the host's namespace.
 *
 *   client (akc0 10.10.1.2) -- (aklan0 10.10.1.1) router (akwan1 198.51.100.2) -- (akup1 198.51.100.1) isp1 [192.0.2.10]
 *                                                        (akwan2 203.0.113.2)  -- (akup2 203.0.113.1) isp2 [192.0.2.10]
 *
 * Every name starts with `ak`; `teardown()` stops what the site started and
 * deletes its namespaces, whatever state a failed test left them in.
 */
export class TestSite {
  readonly ns: {
    readonly client: string;
    readonly router: string;
    readonly isp1: string;
    readonly isp2: string;
  };
  readonly dev = {
    client: "akc0",
    lan: "aklan0",
    wan1: "akwan1",
    wan2: "akwan2",
    up1: "akup1",
    up2: "akup2",
  } as const;
  private readonly processes = new Set<ChildProcess>();

  /** `tag` keeps concurrent sites apart: a few characters, unique per test. */
  constructor(tag: string) {
    const prefix = `ak${tag}`;
    this.ns = { client: `${prefix}c`, router: `${prefix}r`, isp1: `${prefix}i1`, isp2: `${prefix}i2` };
  }

  /** The site document the policies compile against: uplinks of `uplinkBandwidth`, a guest segment. */
  document(uplinkBandwidth = "100Mbit"): Site {
    const yaml = `apiVersion: networking.fos1.io/v1
kind: Site
metadata: { name: ak-lab }
spec:
  uplinks:
    - { name: isp1, interface: ${this.dev.wan1}, bandwidth: ${uplinkBandwidth}, gateway: 198.51.100.1, default: true }
    - { name: isp2, interface: ${this.dev.wan2}, bandwidth: ${uplinkBandwidth}, gateway: 203.0.113.1 }
  lan: { interfaces: [${this.dev.lan}], prefixes: [10.10.0.0/16] }
  segments:
    - { name: guest, prefixes: [10.10.200.0/24] }
  nodes:
    - { name: router, agent: { url: "https://10.10.1.1:9443" } }
`;
    return loadValid(yaml, "ak-lab.yaml")[0] as Site;
  }

  /** The router's NodePrograms for policy documents (YAML), compiled as the CLI and the providers compile them. */
  compile(policiesYaml: string, uplinkBandwidth?: string): NodeProgram[] {
    const policies = loadValid(policiesYaml, "policies.yaml").filter(isPolicyDocument);
    const { programs, problems } = compileSite(policies, this.document(uplinkBandwidth));
    if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
    return programs;
  }

  async setup(): Promise<void> {
    await this.teardown();
    for (const ns of Object.values(this.ns)) await this.ip(["netns", "add", ns]);
    const { client, router, isp1, isp2 } = this.ns;
    await this.veth(router, this.dev.lan, client, this.dev.client);
    await this.veth(router, this.dev.wan1, isp1, this.dev.up1);
    await this.veth(router, this.dev.wan2, isp2, this.dev.up2);

    await this.addresses(client, [[this.dev.client, `${CLIENT}/24`]]);
    await this.addresses(router, [
      [this.dev.lan, "10.10.1.1/24"],
      [this.dev.wan1, "198.51.100.2/24"],
      [this.dev.wan2, "203.0.113.2/24"],
    ]);
    await this.addresses(isp1, [
      [this.dev.up1, "198.51.100.1/24"],
      ["lo", `${SERVER}/32`],
    ]);
    await this.addresses(isp2, [
      [this.dev.up2, "203.0.113.1/24"],
      ["lo", `${SERVER}/32`],
    ]);

    await this.exec(client, "ip", ["route", "add", "default", "via", "10.10.1.1"]);
    await this.exec(router, "ip", ["route", "add", "default", "via", "198.51.100.1"]);
    await this.exec(isp1, "ip", ["route", "add", "10.10.0.0/16", "via", "198.51.100.2"]);
    await this.exec(isp2, "ip", ["route", "add", "10.10.0.0/16", "via", "203.0.113.2"]);
    // Forwarding on; reverse-path filtering off, since replies of a flow routed via isp2 come back on akwan2
    // while the main table's route to the server points at isp1.
    const sysctls = [
      "net.ipv4.ip_forward=1",
      "net.ipv4.conf.all.rp_filter=0",
      "net.ipv4.conf.default.rp_filter=0",
    ];
    for (const dev of [this.dev.lan, this.dev.wan1, this.dev.wan2])
      sysctls.push(`net.ipv4.conf.${dev}.rp_filter=0`);
    await this.exec(router, "sysctl", ["-q", "-w", ...sysctls]);
  }

  /** Stops every process the site started and deletes its namespaces (with their links); never throws. */
  async teardown(): Promise<void> {
    for (const child of this.processes) child.kill("SIGKILL");
    await Promise.all([...this.processes].map((c) => (c.exitCode === null ? once(c) : undefined)));
    this.processes.clear();
    const existing = await this.ip(["netns", "list"]).catch(() => "");
    for (const ns of Object.values(this.ns)) {
      if (new RegExp(`^${ns}( |$)`, "m").test(existing))
        await this.ip(["netns", "del", ns]).catch(() => undefined);
    }
  }

  /** Runs a program in one of the site's namespaces and returns its stdout. */
  async exec(ns: string, file: string, args: readonly string[]): Promise<string> {
    const { stdout } = await run("ip", ["netns", "exec", ns, file, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  }

  /** A long-running program in a namespace; killed at teardown. */
  start(ns: string, file: string, args: readonly string[]): ChildProcess {
    const child = spawn("ip", ["netns", "exec", ns, file, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    this.processes.add(child);
    child.on("exit", () => this.processes.delete(child));
    return child;
  }

  /** Starts a long-running program and resolves once it prints a line matching `ready` (on stdout or stderr). */
  serve(ns: string, file: string, args: readonly string[], ready: RegExp): Promise<ChildProcess> {
    const child = this.start(ns, file, args);
    return new Promise((resolve, reject) => {
      let seen = "";
      const timer = setTimeout(
        () => reject(new Error(`${file} in ${ns} did not become ready: ${seen}`)),
        5000,
      );
      const watch = (chunk: Buffer) => {
        seen += chunk.toString();
        if (ready.test(seen)) {
          clearTimeout(timer);
          resolve(child);
        }
      };
      child.stdout?.on("data", watch);
      child.stderr?.on("data", watch);
      child.once("exit", (code) => reject(new Error(`${file} in ${ns} exited (${code}): ${seen}`)));
    });
  }

  /** An iperf3 server on `port` in a namespace, until teardown. */
  async iperfServer(ns: string, port: number): Promise<void> {
    await this.serve(ns, "iperf3", ["-s", "-p", String(port), "--forceflush"], /Server listening/);
  }

  /** Runs an iperf3 client from the client namespace to the server; the rate the receiver saw, in bits/s. */
  async iperf(port: number, seconds: number, extra: readonly string[] = []): Promise<number> {
    return (await this.iperfRates(port, seconds, extra)).received;
  }

  /**
   * Runs an iperf3 client as `iperf` does. `received` is the receiver's mean
   * over the run; `secondMedian` is the median of the sender's one-second
   * intervals (omitted ones left out), which one stalled second of a busy
   * host does not move: a shaper's steady rate, where `received` is what the
   * whole run got.
   */
  async iperfRates(port: number, seconds: number, extra: readonly string[] = []): Promise<IperfRates> {
    const out = await this.exec(this.ns.client, "iperf3", [
      "-c",
      SERVER,
      "-p",
      String(port),
      "-t",
      String(seconds),
      "-J",
      ...extra,
    ]);
    const report = JSON.parse(out) as IperfReport;
    const seconds1 = report.intervals.filter((i) => !i.sum.omitted).map((i) => i.sum.bits_per_second);
    return { received: report.end.sum_received.bits_per_second, secondMedian: median(seconds1) };
  }

  /** tcpdump on a device; `stop()` ends the capture and returns the lines it printed. */
  async capture(ns: string, dev: string, filter: string): Promise<{ stop(): Promise<string[]> }> {
    const child = await this.serve(ns, "tcpdump", ["-n", "-l", "-i", dev, filter], /listening on/);
    let out = "";
    child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    return {
      stop: async () => {
        const exited = child.exitCode === null ? once(child) : Promise.resolve();
        child.kill("SIGINT");
        await exited;
        return out.split("\n").filter((l) => l.trim() !== "");
      },
    };
  }

  /** Commands run in the router namespace, the kernel the reconcilers program; `log` sees every command. */
  routerRunner(log?: Command[]): CommandRunner {
    const inner = execRunner({ netns: this.ns.router });
    return log ? observedRunner(inner, (c) => log.push(c)) : inner;
  }

  private async ip(args: readonly string[]): Promise<string> {
    const { stdout } = await run("ip", args);
    return stdout;
  }

  private async veth(nsA: string, devA: string, nsB: string, devB: string): Promise<void> {
    await this.ip(["-n", nsA, "link", "add", devA, "type", "veth", "peer", "name", devB, "netns", nsB]);
  }

  private async addresses(ns: string, list: readonly (readonly [string, string])[]): Promise<void> {
    for (const [dev, cidr] of list) await this.ip(["-n", ns, "addr", "add", cidr, "dev", dev]);
    for (const dev of new Set(["lo", ...list.map(([d]) => d)]))
      await this.ip(["-n", ns, "link", "set", dev, "up"]);
  }
}

/** What `iperfRates` measured, in bits/s. */
export interface IperfRates {
  received: number;
  secondMedian: number;
}

/** The part of iperf3's `-J` report read here. */
interface IperfReport {
  intervals: { sum: { bits_per_second: number; omitted: boolean } }[];
  end: { sum_received: { bits_per_second: number } };
}

function loadValid(yaml: string, file: string) {
  const { documents, problems } = loadYamlDocuments(yaml, file);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  return documents.map((d) => d.document);
}

function once(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.once("exit", () => resolve()));
}
