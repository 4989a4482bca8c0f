import { execFile, execFileSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Server, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { MAP_NAMES } from "@fos1/dpi/sdk/abi";
import { AgentClient } from "@fos1/dpi/sdk/agent-api";
import { compileSite, isPolicyDocument, type NodeProgram } from "@fos1/dpi/sdk/compile";
import { loadYamlDocuments, type Site } from "@fos1/dpi/sdk/schema";
import { spawnAgent, startSocketRelay } from "../../agent/test/dataplane/agent-launch";
import { httpsRequest } from "../../agent/test/unit/fixtures/https-request";
import { NetnsLab } from "./lib";

const run = promisify(execFile);
const OBJECTS_DIR = join(__dirname, "..", "..", "bpf", "build");

/** The maps the policy programs write (the runtime maps belong to the agent, not to any program). */
const POLICY_MAPS = [MAP_NAMES.qosClasses, MAP_NAMES.appPolicy, MAP_NAMES.routePolicy, MAP_NAMES.segments];

/** A Set that also counts what was ever added: the relay adds every connection it accepts. */
class CountingSet<T> extends Set<T> {
  added = 0;
  override add(value: T): this {
    this.added += 1;
    return super.add(value);
  }
}

/**
 * A certificate authority made with Debian's openssl, signing one server
 * certificate per agent for 127.0.0.1: the stack holds one CA (`fos1:agentCa`)
 * for every agent of a site, as a real deployment does.
 */
export class LabCertificateAuthority {
  readonly dir = mkdtempSync(join(tmpdir(), "pv-ca-"));
  readonly certFile = join(this.dir, "ca.pem");
  private readonly keyFile = join(this.dir, "ca-key.pem");
  private issued = 0;

  constructor() {
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ...["-keyout", this.keyFile, "-out", this.certFile, "-days", "2", "-subj", "/CN=fos1-dpi-pv-ca"],
      ],
      { stdio: "ignore" },
    );
  }

  get cert(): string {
    return readFileSync(this.certFile, "utf8");
  }

  /** A key and a certificate for 127.0.0.1 signed by this CA. */
  issue(): { certFile: string; keyFile: string } {
    const n = ++this.issued;
    const keyFile = join(this.dir, `agent-${n}-key.pem`);
    const csrFile = join(this.dir, `agent-${n}.csr`);
    const certFile = join(this.dir, `agent-${n}.pem`);
    const extFile = join(this.dir, `agent-${n}.ext`);
    writeFileSync(extFile, "subjectAltName=IP:127.0.0.1\n");
    execFileSync(
      "openssl",
      [
        ...["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ...["-keyout", keyFile, "-out", csrFile, "-subj", `/CN=fos1-dpi-pv-agent-${n}`],
      ],
      { stdio: "ignore" },
    );
    execFileSync(
      "openssl",
      [
        ...["x509", "-req", "-in", csrFile, "-CA", this.certFile, "-CAkey", this.keyFile],
        ...["-CAcreateserial", "-out", certFile, "-days", "2", "-extfile", extFile],
      ],
      { stdio: "ignore" },
    );
    return { certFile, keyFile };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What the router namespace's kernel holds, in forms that compare as values. */
export interface KernelState {
  readonly nft: unknown;
  readonly qdiscs: unknown;
  /** `dev classid` -> `tc -d class show` line: tc 6.1 prints HTB classes as text even with -j. */
  readonly classes: Record<string, string>;
  readonly rules: unknown;
  readonly routes: unknown;
  /** Policy map -> `bpftool -j map dump` entries. */
  readonly maps: Record<string, unknown>;
}

/**
 * One router node of a test site, made of network namespaces on the local
 * kernel, with the real agent process (eBPF on, against a bpffs this lab
 * mounts) running in the router namespace:
 *
 *   router pv-<tag>r-<pid>: pvlan0, pvwan1 (198.51.100.2), pvwan2 (203.0.113.2)
 *   peers  pv-<tag>p-<pid>: pvc0, pvup1, pvup2 (the other ends)
 *
 * No namespace has a link or route to the host's: the agent listens on a Unix
 * socket and a relay on the host's loopback carries AgentClient's HTTPS to it.
 * `connections` counts what reached the agent, so a test can prove that a
 * call made no network request.
 */
export class ProviderLab {
  readonly dev = { lan: "pvlan0", wan1: "pvwan1", wan2: "pvwan2" } as const;
  readonly router: string;
  private readonly netns = new NetnsLab("pv");
  private readonly dir = mkdtempSync(join(tmpdir(), "pv-lab-"));
  private readonly bpffs = join(this.dir, "bpffs");
  private readonly pinRoot = join(this.bpffs, "fos1");
  private readonly socket = join(this.dir, "agent.sock");
  private readonly relayed = new CountingSet<Socket>();
  private relay?: Server;
  private relayPort = 0;
  private agent?: ChildProcess;
  private mounted = false;
  /** Everything the agent printed, for failure messages. */
  output = "";

  constructor(
    readonly node: string,
    private readonly tag: string,
    private readonly token: string,
    private readonly ca: LabCertificateAuthority,
  ) {
    this.router = `pv-${tag}r-${process.pid}`;
  }

  /** The agent's URL as the provider and the controller use it. */
  get url(): string {
    return `https://127.0.0.1:${this.relayPort}`;
  }

  /** Connections the agent has accepted so far. */
  get connections(): number {
    return this.relayed.added;
  }

  get client(): AgentClient {
    return new AgentClient({ url: this.url, token: this.token, ca: this.ca.cert });
  }

  /**
   * Builds the namespaces and starts the agent; resolves once it is ready.
   * `reconcileInterval` is long by default so out-of-band changes stay in the
   * kernel until a test reads them as drift.
   */
  async setup(reconcileInterval = "1h"): Promise<void> {
    const router = this.netns.namespace(`${this.tag}r`);
    const peers = this.netns.namespace(`${this.tag}p`);
    const links = [
      [this.dev.lan, "pvc0", "10.10.1.1/24"],
      [this.dev.wan1, "pvup1", "198.51.100.2/24"],
      [this.dev.wan2, "pvup2", "203.0.113.2/24"],
    ];
    for (const [dev, peer, cidr] of links) {
      await run("ip", [
        "-n",
        router,
        "link",
        "add",
        dev,
        "type",
        "veth",
        "peer",
        "name",
        peer,
        "netns",
        peers,
      ]);
      // No IPv6 link-local: the kernel adds it (and its routes) asynchronously after link up,
      // which would change the kernel states the tests compare while nobody touched them.
      await run("ip", ["-n", router, "link", "set", dev, "addrgenmode", "none"]);
      await run("ip", ["-n", peers, "link", "set", peer, "addrgenmode", "none"]);
      await run("ip", ["-n", router, "addr", "add", cidr, "dev", dev]);
      await run("ip", ["-n", router, "link", "set", dev, "up"]);
      await run("ip", ["-n", peers, "link", "set", peer, "up"]);
    }

    mkdirSync(this.bpffs, { recursive: true });
    await run("mount", ["-t", "bpf", "bpf", this.bpffs]);
    this.mounted = true;
    const tls = this.ca.issue();
    writeFileSync(join(this.dir, "token"), this.token);
    writeFileSync(
      join(this.dir, "agent.json"),
      JSON.stringify({
        node: this.node,
        listen: { socket: this.socket },
        tls,
        tokenFile: join(this.dir, "token"),
        stateDir: join(this.dir, "state"),
        reconcileInterval,
        bpf: { pinRoot: this.pinRoot, objectsDir: OBJECTS_DIR, enabled: true, offloadLease: "3s" },
        interfaces: {
          uplinks: { isp1: this.dev.wan1, isp2: this.dev.wan2 },
          lan: [this.dev.lan],
        },
      }),
    );
    ({ server: this.relay, port: this.relayPort } = await startSocketRelay(this.socket, this.relayed));
    const child = spawnAgent(router, join(this.dir, "agent.json"), (text) => (this.output += text));
    this.agent = child;
    const started = Date.now();
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the agent exited (${child.exitCode ?? child.signalCode}):\n${this.output}`);
      if (Date.now() - started > 30_000) throw new Error(`the agent was not ready in 30 s:\n${this.output}`);
      const probe = await httpsRequest(`${this.url}/readyz`, { ca: this.ca.cert }).catch(() => undefined);
      if (probe?.status === 200) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Runs a command in the router namespace and returns its stdout. */
  exec(command: string, args: readonly string[]): string {
    return this.netns.exec(this.router, command, args);
  }

  async kernel(): Promise<KernelState> {
    const json = (command: string, args: string[]) => JSON.parse(this.exec(command, args) || "null");
    const classes: Record<string, string> = {};
    for (const dev of [this.dev.wan1, this.dev.wan2]) {
      for (const line of this.exec("tc", ["-d", "class", "show", "dev", dev]).split("\n")) {
        const classid = /^class \S+ (\S+)/.exec(line)?.[1];
        if (classid) classes[`${dev} ${classid}`] = line.trim();
      }
    }
    const maps: Record<string, unknown> = {};
    for (const map of POLICY_MAPS) {
      const { stdout } = await run("bpftool", ["-j", "map", "dump", "pinned", join(this.pinRoot, map)], {
        maxBuffer: 64 << 20,
      });
      maps[map] = JSON.parse(stdout);
    }
    return {
      nft: json("nft", ["-j", "list", "ruleset"]),
      qdiscs: json("tc", ["-j", "qdisc", "show"]),
      classes,
      rules: json("ip", ["-j", "rule"]),
      routes: json("ip", ["-j", "route", "show", "table", "all"]),
      maps,
    };
  }

  /** Stops the agent, deletes the namespaces (their links go with them) and the files; never throws. */
  async teardown(): Promise<void> {
    const child = this.agent;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    for (const socket of this.relayed) socket.destroy();
    await new Promise<void>((resolve) => (this.relay ? this.relay.close(() => resolve()) : resolve()));
    this.relay = undefined;
    this.netns.teardown();
    if (this.mounted) await run("umount", [this.bpffs]).catch(() => undefined);
    this.mounted = false;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The site the labs' nodes form: the same two uplinks and LAN on every node, a guest segment. */
export function labSite(nodes: readonly { node: string; url: string }[]): Site {
  const yaml = `apiVersion: networking.fos1.io/v1
kind: Site
metadata: { name: pv-lab }
spec:
  uplinks:
    - { name: isp1, interface: pvwan1, bandwidth: 100Mbit, gateway: 198.51.100.1, default: true }
    - { name: isp2, interface: pvwan2, bandwidth: 50Mbit, gateway: 203.0.113.1 }
  lan: { interfaces: [pvlan0], prefixes: [10.10.0.0/16] }
  segments:
    - { name: guest, prefixes: [10.10.200.0/24] }
  nodes:
${nodes.map((n) => `    - { name: ${n.node}, agent: { url: "${n.url}" } }`).join("\n")}
`;
  return documentsOf(yaml, "pv-lab.yaml")[0] as Site;
}

/** The programs policy documents (YAML) compile to on the site, as the components compile them. */
export function compileOn(site: Site, policiesYaml: string): NodeProgram[] {
  const policies = documentsOf(policiesYaml, "policies.yaml").filter(isPolicyDocument);
  const { programs, problems } = compileSite(policies, site);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  return programs;
}

function documentsOf(yaml: string, file: string) {
  const { documents, problems } = loadYamlDocuments(yaml, file);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  return documents.map((d) => d.document);
}
