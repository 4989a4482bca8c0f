import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * A single-member etcd on loopback, for the local lab, tests and benchmarks:
 * free ports, its own data directory, and a stop/start pair that keeps the
 * data directory so a restart is the same cluster with the same revisions
 * and leases (as after a real etcd crash).
 */
export interface LocalEtcdOptions {
  /** Path of the etcd binary. @default "/usr/bin/etcd" */
  readonly binary?: string;
  /** Data directory; created under the system temp dir when absent, and removed by `destroy()` only then. */
  readonly dataDir?: string;
  /** How long to wait for the server to answer its health endpoint. @default 15000 */
  readonly startTimeoutMs?: number;
  /**
   * Also serve clients on a unix socket in this directory (`socketEndpoint`),
   * so agents in network namespaces with no link to this one reach it
   * through the file system.
   */
  readonly socketDir?: string;
}

export class LocalEtcd {
  readonly dataDir: string;
  /** `http://127.0.0.1:<port>`: what the etcd3 client's `hosts` takes. */
  readonly endpoint: string;
  /** `unix:///dir/localhost:<port>` when `socketDir` was given. */
  readonly socketEndpoint: string | undefined;
  private readonly ownsDataDir: boolean;
  private process: ChildProcess | undefined;
  private output = "";

  private constructor(
    private readonly binary: string,
    clientPort: number,
    private readonly peerPort: number,
    dataDir: string | undefined,
    private readonly startTimeoutMs: number,
    private readonly socketDir: string | undefined,
  ) {
    this.ownsDataDir = dataDir === undefined;
    this.dataDir = dataDir ?? mkdtempSync(join(tmpdir(), "fos1-etcd-"));
    this.endpoint = `http://127.0.0.1:${clientPort}`;
    // etcd takes unix://host:port and makes a socket file of that name in its working directory.
    this.socketEndpoint = socketDir && `unix://${resolve(socketDir)}/localhost:${clientPort}`;
  }

  /** Picks free loopback ports and starts the server. */
  static async launch(options: LocalEtcdOptions = {}): Promise<LocalEtcd> {
    const clientPort = await freePort();
    let peerPort = await freePort();
    while (peerPort === clientPort) peerPort = await freePort();
    const etcd = new LocalEtcd(
      options.binary ?? "/usr/bin/etcd",
      clientPort,
      peerPort,
      options.dataDir,
      options.startTimeoutMs ?? 15_000,
      options.socketDir,
    );
    await etcd.start();
    return etcd;
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  /** Starts the server on the same ports and data directory; resolves once it answers /health. */
  async start(): Promise<void> {
    if (this.process) return;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.output = "";
    // A socket file left by a killed server would make the bind fail.
    if (this.socketDir)
      rmSync(join(this.socketDir, `localhost:${new URL(this.endpoint).port}`), { force: true });
    // setpriv: the server dies with this process, so a crashed test run leaves no etcd behind.
    const child = spawn(
      "setpriv",
      [
        "--pdeathsig=KILL",
        "--",
        this.binary,
        "--name=local",
        `--data-dir=${this.dataDir}`,
        `--listen-client-urls=${this.endpoint}${this.socketEndpoint ? `,unix://localhost:${new URL(this.endpoint).port}` : ""}`,
        `--advertise-client-urls=${this.endpoint}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=local=${peer}`,
        "--log-level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"], ...(this.socketDir ? { cwd: this.socketDir } : {}) },
    );
    // Kept for the error message: etcd says why it did not start only there.
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000));
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("exit", () => {
      if (this.process === child) this.process = undefined;
    });
    this.process = child;
    await this.waitHealthy(child);
  }

  /** Kills the server (SIGKILL: no graceful shutdown, as in a crash) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }

  /** Stops the server and removes the data directory if this object made it. */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async waitHealthy(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `etcd exited (${child.exitCode ?? child.signalCode}) while starting: ${this.output.trim()}`,
        );
      }
      try {
        const res = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { health?: string };
        if (body.health === "true") return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.stop();
    throw new Error(`etcd did not become healthy within ${this.startTimeoutMs} ms: ${this.output.trim()}`);
  }
}

/**
 * A loopback port nothing listens on now, below the kernel's ephemeral range.
 * Inside that range, a client retrying a stopped server can be handed the
 * server's own port as its source port and connect to itself (TCP
 * simultaneous open), and the restarted server then cannot bind.
 */
async function freePort(): Promise<number> {
  const [ephemeralLow] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
    .trim()
    .split(/\s+/)
    .map(Number);
  const low = 10_000;
  const high = Math.max(low + 1, ephemeralLow);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free loopback port between ${low} and ${high}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
