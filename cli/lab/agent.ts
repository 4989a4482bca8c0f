import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { extname, join } from "node:path";
import { AgentClient } from "../../sdk/agent-api";
import { running, startDetached } from "./processes";
import { selfSignedTls } from "./self-signed-tls";
import type { LabState } from "./state";
import type { LabTopology } from "./topology";

/** Node arguments that run a TypeScript entry point from source (the CLI itself runs under tsx in a checkout). */
function nodeArgs(entry: string): string[] {
  return extname(entry) === ".ts" ? ["--import", "tsx", entry] : [entry];
}

export interface LabAgentOptions {
  readonly root: string;
  readonly dir: string;
  readonly bpffs: string;
  readonly objectsDir: string;
  readonly sensor: string;
  readonly topology: LabTopology;
  /** Site uplink name -> the router's interface towards it. */
  readonly uplinkInterfaces: Readonly<Record<string, string>>;
  readonly lanInterfaces: readonly string[];
}

/**
 * Starts the node agent from source in the router namespace (eBPF on, pins in
 * the lab's private bpffs, the nDPI sensor on the mirror's sensor side as its
 * ingest source) and the loopback relay to its unix socket. Returns the pids
 * (process-group leaders) and the endpoint as soon as both are started;
 * `waitReady` says when the agent answers.
 */
export function startLabAgent(o: LabAgentOptions): {
  processes: LabState["processes"];
  agent: NonNullable<LabState["agent"]>;
  portFile: string;
} {
  const { certFile, keyFile } = selfSignedTls(o.dir, {
    name: "fos1-dpi-lab-agent",
    days: 30,
    prefix: "agent-",
  });
  const tokenFile = join(o.dir, "agent-token");
  writeFileSync(tokenFile, randomBytes(24).toString("hex"), { mode: 0o600 });
  const socket = join(o.dir, "agent.sock");
  const config = join(o.dir, "agent.json");
  writeFileSync(
    config,
    JSON.stringify(
      {
        node: "router",
        listen: { socket },
        tls: { certFile, keyFile },
        tokenFile,
        stateDir: join(o.dir, "agent-state"),
        reconcileInterval: "2s",
        bpf: { pinRoot: join(o.bpffs, "fos1"), objectsDir: o.objectsDir, enabled: true },
        interfaces: { uplinks: o.uplinkInterfaces, lan: o.lanInterfaces, mirror: o.topology.mirror.router },
        ingest: {
          sources: [
            { type: "ndpi-sensor", name: "ndpi", interface: o.topology.mirror.sensor, binary: o.sensor },
          ],
          alerts: "stdout",
        },
      },
      null,
      2,
    ),
  );
  const log = join(o.dir, "agent.log");
  const agentPid = startDetached(
    process.execPath,
    nodeArgs(join(o.root, "agent", "src", "bin.ts")).concat(["--config", config]),
    {
      ns: o.topology.router,
      log,
      cwd: o.root,
    },
  );
  const portFile = join(o.dir, "relay.port");
  const relayEntry = join(__dirname, `relay${extname(__filename)}`);
  const relayPid = startDetached(process.execPath, [...nodeArgs(relayEntry), socket, portFile], {
    log: join(o.dir, "relay.log"),
    cwd: o.root,
  });
  return {
    processes: [
      { role: "agent", pid: agentPid },
      { role: "relay", pid: relayPid },
    ],
    agent: { url: "", tokenFile, caFile: certFile, socket, log },
    portFile,
  };
}

function readyz(url: string, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(new URL("/readyz", url), { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** Waits for the relay's port and the agent's /readyz; the agent's log tail is in the error when it does not come up. */
export async function waitReady(
  agent: NonNullable<LabState["agent"]>,
  portFile: string,
  agentPid: number,
  timeoutMs = 60_000,
): Promise<string> {
  const ca = readFileSync(agent.caFile, "utf8");
  const deadline = Date.now() + timeoutMs;
  const tail = () =>
    existsSync(agent.log) ? readFileSync(agent.log, "utf8").split("\n").slice(-15).join("\n") : "";
  for (;;) {
    if (!running(agentPid)) throw new Error(`lab: the agent exited during start:\n${tail()}`);
    if (Date.now() > deadline)
      throw new Error(`lab: the agent was not ready in ${timeoutMs / 1000} s:\n${tail()}`);
    if (existsSync(portFile)) {
      const url = `https://127.0.0.1:${readFileSync(portFile, "utf8").trim()}`;
      if ((await readyz(url, ca)) === 200) return url;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** An AgentClient for the lab's agent, as the Pulumi providers make one. */
export function labClient(agent: NonNullable<LabState["agent"]>): AgentClient {
  return new AgentClient({
    url: agent.url,
    token: readFileSync(agent.tokenFile, "utf8").trim(),
    ca: readFileSync(agent.caFile, "utf8"),
  });
}
