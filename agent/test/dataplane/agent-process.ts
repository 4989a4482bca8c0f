import { execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { AgentClient } from "@fos1/dpi/sdk/agent-api";
import { spawnAgent, startSocketRelay } from "./agent-launch";
import { httpsRequest, type RawResponse } from "../unit/fixtures/https-request";
import type { TestUplink } from "../unit/fixtures/programs";
import { selfSignedTls } from "../unit/fixtures/tls";

const run = promisify(execFile);

/** What the kernel of the router namespace holds, as the tools print it in JSON. */
export interface KernelSnapshot {
  readonly nft: unknown;
  readonly qdiscs: unknown;
  /** `tc class show` text: tc 6.1 prints HTB classes as text even with -j. */
  readonly classes: string;
  readonly rules: unknown;
  readonly routes: unknown;
}

/**
 * A router namespace with two uplinks, each a veth pair to a namespace of its
 * own, and the real agent process running inside the router namespace
 * (`ip netns exec`). Nothing links these namespaces to the host's: the agent
 * listens on a Unix socket, and an in-process TCP-to-socket relay on the
 * host's loopback lets AgentClient reach it over HTTPS end to end.
 * Every namespace and interface name starts with `ac`.
 */
export class AgentLab {
  readonly ns: { readonly router: string; readonly up1: string; readonly up2: string };
  readonly uplinks: readonly TestUplink[] = [
    {
      name: "isp1",
      device: "acwan1",
      gateway: "198.51.100.1",
      table: 101,
      mark: 0x10,
      bandwidthBps: 100_000_000,
    },
    {
      name: "isp2",
      device: "acwan2",
      gateway: "203.0.113.1",
      table: 102,
      mark: 0x20,
      bandwidthBps: 50_000_000,
    },
  ];
  readonly token = "ac-lab-token-" + Math.random().toString(36).slice(2) + "-0123456789";
  private readonly dir = mkdtempSync(join(tmpdir(), "ac-lab-"));
  private readonly tls = selfSignedTls();
  private readonly socket = join(this.dir, "agent.sock");
  private relay?: Server;
  private readonly relayed = new Set<Socket>();
  private relayPort = 0;
  private agent?: ChildProcess;
  /** Everything the agent printed, for assertions on its logs and for failure messages. */
  output = "";

  constructor(tag: string) {
    this.ns = { router: `ac${tag}r`, up1: `ac${tag}u1`, up2: `ac${tag}u2` };
  }

  get client(): AgentClient {
    return new AgentClient({
      url: `https://127.0.0.1:${this.relayPort}`,
      token: this.token,
      ca: this.tls.cert,
    });
  }

  async setup(reconcileInterval = "300ms"): Promise<void> {
    await this.teardown();
    const { router, up1, up2 } = this.ns;
    for (const ns of [router, up1, up2]) await run("ip", ["netns", "add", ns]);
    await this.exec(["ip", "link", "set", "lo", "up"]);
    for (const [u, peerNs, peer, routerAddr, peerAddr] of [
      [this.uplinks[0], up1, "acup1", "198.51.100.2/24", "198.51.100.1/24"],
      [this.uplinks[1], up2, "acup2", "203.0.113.2/24", "203.0.113.1/24"],
    ] as const) {
      await this.exec(["ip", "link", "add", u.device, "type", "veth", "peer", "name", peer, "netns", peerNs]);
      // No IPv6 link-local addresses: the kernel adds them (and their routes) asynchronously after link up,
      // which would change the kernel snapshots these tests compare while nobody touched them.
      await this.exec(["ip", "link", "set", u.device, "addrgenmode", "none"]);
      await run("ip", ["-n", peerNs, "link", "set", peer, "addrgenmode", "none"]);
      await this.exec(["ip", "addr", "add", routerAddr, "dev", u.device]);
      await this.exec(["ip", "link", "set", u.device, "up"]);
      await run("ip", ["-n", peerNs, "addr", "add", peerAddr, "dev", peer]);
      await run("ip", ["-n", peerNs, "link", "set", peer, "up"]);
    }
    writeFileSync(join(this.dir, "token"), this.token);
    writeFileSync(
      join(this.dir, "agent.json"),
      JSON.stringify({
        node: "router-1",
        listen: { socket: this.socket },
        tls: { certFile: this.tls.certFile, keyFile: this.tls.keyFile },
        tokenFile: join(this.dir, "token"),
        stateDir: join(this.dir, "state"),
        reconcileInterval,
        interfaces: { uplinks: { isp1: "acwan1", isp2: "acwan2" }, lan: ["aclan0"] },
      }),
    );
    ({ server: this.relay, port: this.relayPort } = await startSocketRelay(this.socket, this.relayed));
  }

  /** Starts the agent process in the router namespace; resolves once it is listening (not necessarily ready). */
  async start(): Promise<void> {
    const child = spawnAgent(this.ns.router, join(this.dir, "agent.json"), (text) => (this.output += text));
    this.agent = child;
    await this.until(
      async () => (await this.probe("/healthz").catch(() => undefined))?.status === 200,
      30_000,
    );
  }

  /** Resolves once /readyz says ready, returning how the kernel looked at that first moment. */
  async ready(): Promise<KernelSnapshot> {
    await this.until(
      async () => (await this.probe("/readyz").catch(() => undefined))?.status === 200,
      30_000,
    );
    return this.snapshot();
  }

  /** SIGKILL: no handler runs, nothing is cleaned up, as when the node's agent crashes. */
  async kill9(): Promise<void> {
    const child = this.agent;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  probe(path: string, auth = false): Promise<RawResponse> {
    return httpsRequest(`https://127.0.0.1:${this.relayPort}${path}`, {
      ca: this.tls.cert,
      headers: auth ? { authorization: `Bearer ${this.token}` } : {},
    });
  }

  /** A raw request with the token, for bodies AgentClient would never send. */
  request(
    method: string,
    path: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<RawResponse> {
    return httpsRequest(`https://127.0.0.1:${this.relayPort}${path}`, {
      method,
      body,
      ca: this.tls.cert,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json", ...headers },
    });
  }

  /** Runs a command inside the router namespace. */
  async exec(command: string[]): Promise<string> {
    const { stdout } = await run("ip", ["netns", "exec", this.ns.router, ...command], {
      maxBuffer: 64 << 20,
    });
    return stdout;
  }

  async snapshot(): Promise<KernelSnapshot> {
    const json = async (command: string[]) => JSON.parse((await this.exec(command)) || "null");
    return {
      nft: await json(["nft", "-j", "list", "ruleset"]),
      qdiscs: await json(["tc", "-j", "qdisc", "show"]),
      classes: await this.exec(["tc", "class", "show", "dev", "acwan1"]),
      rules: await json(["ip", "-j", "rule"]),
      routes: await json(["ip", "-j", "route", "show", "table", "all"]),
    };
  }

  async metric(name: string): Promise<number> {
    const text = (await this.probe("/metrics", true)).text;
    return text
      .split("\n")
      .filter((line) => line.startsWith(name))
      .reduce((sum, line) => sum + Number(line.split(" ").pop()), 0);
  }

  async until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
    const started = Date.now();
    while (!(await check())) {
      if (this.agent?.exitCode != null)
        throw new Error(`the agent exited (${this.agent.exitCode}):\n${this.output}`);
      if (Date.now() - started > timeoutMs)
        throw new Error(`not within ${timeoutMs} ms; agent output:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return Date.now() - started;
  }

  /** Stops the agent and deletes the namespaces (their interfaces go with them), whatever state they are in. */
  async teardown(): Promise<void> {
    await this.kill9();
    for (const socket of this.relayed) socket.destroy();
    await new Promise<void>((resolve) => (this.relay ? this.relay.close(() => resolve()) : resolve()));
    this.relay = undefined;
    for (const ns of Object.values(this.ns)) await run("ip", ["netns", "del", ns]).catch(() => undefined);
  }

  removeFiles(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
