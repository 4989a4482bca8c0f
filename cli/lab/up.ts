import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { AgentClient } from "../../sdk/agent-api";
import { nodePolicyFrom } from "../../sdk/decide";
import { ndpiSensorPath } from "../sensor";
import { labClient, startLabAgent, waitReady } from "./agent";
import { labDown } from "./down";
import { createLabNetwork } from "./network";
import { compileLabPolicies, loadLabSite } from "./policies";
import { running, startDetached, stopGroup } from "./processes";
import type { Progress } from "./progress";
import { LIVE_SERVERS } from "./class-driver";
import { classBytes, ratesBetween, tcDeviceOf } from "./rates";
import { LAB_CAPTURES, prepareCapture, replay, rewriteFor, type ReplaySource } from "./replay";
import { writeState, type LabState } from "./state";
import { missingPrerequisites } from "./tools";
import { planLab, type LabTopology } from "./topology";
import { startCapture } from "./wire";

/** How long the class-rate runs last, and the windows measured inside them once their flows are classified. */
const CONTENDED_SECONDS = 10;
const CONTENDED_WINDOW_SECONDS = 4;
const ALONE_SECONDS = 6;
const ALONE_WINDOW_SECONDS = 2.5;
/** The voip driver's offered rate: above its class's max on isp1, so the ceiling shows. */
const VOIP_OFFERED_MBPS = 60;

/** Which host sends which pass of the replay, and why. */
export const PASSES = {
  client: "learn",
  "wl-a": "routed",
  "wl-b": "unselected",
  guest: "guest",
} as const;

export interface UpOptions {
  readonly prefix: string;
  readonly dir: string;
  readonly root: string;
  readonly captureDir: string;
  readonly progress: Progress;
}

function mac(ns: string, dev: string): string {
  const [link] = JSON.parse(
    execFileSync("ip", ["-n", ns, "-j", "link", "show", dev], { encoding: "utf8" }),
  ) as {
    address: string;
  }[];
  return link.address;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until the agent has taken no new classification for `quietMs` (inspection caught up), at most `maxMs`. */
async function settle(client: AgentClient, quietMs = 1500, maxMs = 15_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const status = await client.runtimeStatus();
    const decisions = Object.values(status.decisions).reduce((a, b) => a + b, 0);
    if (decisions !== last) {
      last = decisions;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await sleep(250);
  }
}

/**
 * The uplink namespaces play the internet: they answer live flows to the
 * servers the lab starts, and stay silent to replayed ones (no RST, no ICMP
 * error), so a replayed capture's flows carry only what the capture holds.
 */
function silenceInternet(t: LabTopology): void {
  const rules = `table inet fos1_lab_internet {
  chain output {
    type filter hook output priority filter; policy accept;
    tcp flags & rst == rst drop
    icmp type destination-unreachable drop
  }
}
`;
  for (const ns of Object.values(t.uplinks))
    execFileSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: rules });
}

/**
 * `lab up`: builds the site, starts the agent and its sensor, applies the
 * example policies through compileSite + AgentClient, replays the captures
 * (learning pass from the client, routed pass from the selected workload,
 * the unselected workload, the guest), runs the live class-rate traffic and
 * leaves the lab running. Every piece is recorded in the state dir as soon as
 * it exists, so `lab down` cleans up after a failure too.
 */
export async function labUp(o: UpOptions): Promise<LabState> {
  const started = Date.now();
  const objectsDir = join(o.root, "bpf", "build");
  const sensor = ndpiSensorPath();
  const missing = missingPrerequisites({ root: o.root, objectsDir, sensor, captures: o.captureDir });
  if (missing.length > 0) throw new Error(`lab up needs:\n  ${missing.join("\n  ")}`);

  o.progress.set("removing a previous lab with this prefix");
  await labDown(o.prefix, o.dir);

  const site = loadLabSite(o.root);
  const dpiMirror = "fos1-mirror";
  const topology = planLab(site, o.prefix, dpiMirror);
  const policies = compileLabPolicies(o.root, site, topology.hosts);
  mkdirSync(join(o.dir, "replay"), { recursive: true });
  mkdirSync(join(o.dir, "wire"), { recursive: true });
  const state: LabState = {
    prefix: o.prefix,
    dir: o.dir,
    namespaces: [...topology.namespaces],
    processes: [],
    wire: {},
    hosts: Object.fromEntries(
      topology.hosts.map((h) => [
        h.name,
        { ns: h.ns, address: h.address, selected: policies.selectedHosts.includes(h.name) },
      ]),
    ),
    passes: { ...PASSES },
    captures: [],
    rates: [],
    startedAt: new Date(started).toISOString(),
  };
  writeState(state);

  o.progress.set("building the network");
  createLabNetwork(topology);
  silenceInternet(topology);
  const preparing = Promise.all(
    LAB_CAPTURES.map((c) => prepareCapture(o.captureDir, c, join(o.dir, "replay"))),
  );

  o.progress.set("starting the agent and the nDPI sensor");
  const bpffs = join(o.dir, "bpffs");
  mkdirSync(bpffs);
  execFileSync("mount", ["-t", "bpf", "bpf", bpffs]);
  state.bpffs = bpffs;
  writeState(state);
  const uplinkInterfaces = Object.fromEntries(site.spec.uplinks.map((u) => [u.name, u.interface]));
  const started1 = startLabAgent({
    root: o.root,
    dir: o.dir,
    bpffs,
    objectsDir,
    sensor,
    topology,
    uplinkInterfaces,
    lanInterfaces: site.spec.lan.interfaces,
  });
  state.processes.push(...started1.processes);
  state.agent = started1.agent;
  writeState(state);
  state.agent.url = await waitReady(state.agent, started1.portFile, started1.processes[0].pid);
  writeState(state);
  const client = labClient(state.agent);
  o.progress.watch(client);

  o.progress.set(`applying ${policies.programs.length} programs`);
  for (const program of policies.programs) await client.putProgram(program);

  o.progress.set("starting the wire captures");
  for (const [uplink, ns] of Object.entries(topology.uplinks)) {
    const file = join(o.dir, "wire", `${uplink}.pcap`);
    state.processes.push({
      role: `capture-${uplink}`,
      pid: startCapture(ns, "eth0", file, join(o.dir, "wire", `${uplink}.log`)),
    });
    state.wire[uplink] = { ns, file };
  }
  state.mirrorCapture = join(o.dir, "wire", "mirror.pcap");
  state.processes.push({
    role: "capture-mirror",
    pid: startCapture(
      topology.router,
      topology.mirror.sensor,
      state.mirrorCapture,
      join(o.dir, "wire", "mirror.log"),
    ),
  });
  writeState(state);

  o.progress.set("preparing the captures");
  state.captures = await preparing;
  writeState(state);
  const routerMac = mac(topology.router, site.spec.lan.interfaces[0]);
  const sources = new Map<string, ReplaySource>(
    topology.hosts.map((h) => [
      h.name,
      { host: h.name, ns: h.ns, address: h.address, mac: mac(h.ns, "eth0"), routerMac },
    ]),
  );
  // The sensor and the captures open their sockets right after they start.
  await sleep(1000);

  const replayAll = async (host: string, captures: readonly string[]) => {
    const src = sources.get(host)!;
    for (const capture of state.captures.filter((c) => captures.includes(c.name))) {
      o.progress.set(`replaying ${capture.name} from ${host} (${PASSES[host as keyof typeof PASSES]} pass)`);
      await replay(src, await rewriteFor(capture, join(o.dir, "replay"), src));
    }
  };
  const all = state.captures.map((c) => c.name);
  await replayAll("client", all);
  o.progress.set("waiting for inspection to name the learning pass");
  await settle(client);
  await replayAll("wl-a", all);
  await replayAll("wl-b", all);
  await replayAll("guest", ["bittorrent.pcap", "http_auth.pcap"]);

  state.rates = await rateRun(o, topology, policies.programs, client);
  o.progress.set("waiting for inspection to catch up");
  await settle(client);
  state.upSeconds = Math.round((Date.now() - started) / 100) / 10;
  writeState(state);
  o.progress.set(`lab up in ${state.upSeconds} s`);
  return state;
}

/** Each class's live driver, the application nDPI names it by, and what it is for the report. */
const DRIVERS = {
  voip: { app: "sip", what: `SIP call, ${VOIP_OFFERED_MBPS} Mbit/s offered` },
  web: { app: "http", what: "HTTP upload (curl)" },
  bulk: { app: "bittorrent", what: "BitTorrent peer connection" },
  default: { app: null, what: "iperf3, 4 TCP streams (no application named)" },
} as const;
type DrivenClass = keyof typeof DRIVERS;

/**
 * Live traffic per class from the client to isp1, measured from the HTB
 * class byte counters on isp1's interface once inspection has named the
 * flows: first every class at once (each must get at least its min), then
 * each class alone (none may pass its max).
 */
async function rateRun(
  o: UpOptions,
  t: LabTopology,
  programs: Parameters<typeof tcDeviceOf>[0],
  client: AgentClient,
): Promise<LabState["rates"]> {
  const device = tcDeviceOf(programs, "isp1");
  if (!device) return [];
  const policy = nodePolicyFrom(programs);
  const isp1 = t.uplinks.isp1;
  const clientNs = t.hosts.find((h) => h.name === "client")!.ns;
  const driver = join(__dirname, `class-driver${__filename.endsWith(".ts") ? ".ts" : ".js"}`);
  const node = (args: string[]) => [...(driver.endsWith(".ts") ? ["--import", "tsx"] : []), driver, ...args];
  const log = join(o.dir, "traffic.log");
  const start = (cls: DrivenClass, seconds: number): number => {
    const s = String(seconds);
    switch (cls) {
      case "voip":
        return startDetached(
          process.execPath,
          node(["sip", LIVE_SERVERS.voip, String(VOIP_OFFERED_MBPS), s]),
          {
            ns: clientNs,
            log,
            cwd: o.root,
          },
        );
      case "bulk":
        return startDetached(process.execPath, node(["bittorrent", LIVE_SERVERS.bulk, s]), {
          ns: clientNs,
          log,
          cwd: o.root,
        });
      case "web":
        return startDetached(
          "curl",
          ["-sS", "-o", "/dev/null", "--max-time", s, "-T", "/dev/zero", `http://${LIVE_SERVERS.web}/upload`],
          { ns: clientNs, log },
        );
      case "default":
        return startDetached(
          "iperf3",
          // Four streams keep the class backlogged through one stream's loss recovery or a stalled sender.
          ["-c", LIVE_SERVERS.default, "-P", "4", "-t", s, "--logfile", join(o.dir, "iperf3-client.log")],
          {
            ns: clientNs,
            log,
          },
        );
    }
  };
  const window = async (apps: readonly string[], seconds: number) => {
    await waitClassified(client, apps, 5000);
    // TCP's slow start and the HTB queues settle first.
    await sleep(1000);
    const before = await classBytes(t.router, device.device);
    await sleep(seconds * 1000);
    const after = await classBytes(t.router, device.device);
    return { before, after };
  };
  const finish = async (pids: readonly number[]) => {
    while (pids.some(running)) await sleep(100);
  };

  o.progress.set("starting the servers for live traffic");
  const servers = [
    startDetached(process.execPath, node(["sinks"]), { ns: isp1, log, cwd: o.root }),
    startDetached(
      "iperf3",
      ["-s", "-B", LIVE_SERVERS.default, "--logfile", join(o.dir, "iperf3-server.log")],
      { ns: isp1, log },
    ),
  ];
  const senders: number[] = [];
  try {
    await sleep(1500);
    const classes = Object.keys(DRIVERS) as DrivenClass[];
    o.progress.set("live traffic, every class at once on isp1");
    senders.push(...classes.map((c) => start(c, CONTENDED_SECONDS)));
    const contended = await window(
      classes.flatMap((c) => DRIVERS[c].app ?? []),
      CONTENDED_WINDOW_SECONDS,
    );
    await finish(senders);
    const measured = ratesBetween(
      device,
      contended.before,
      contended.after,
      CONTENDED_WINDOW_SECONDS,
      policy,
    );
    const alone = new Map<string, number>();
    for (const c of classes) {
      o.progress.set(`live traffic, ${c} alone on isp1`);
      const pid = start(c, ALONE_SECONDS);
      senders.push(pid);
      const w = await window(DRIVERS[c].app ? [DRIVERS[c].app] : [], ALONE_WINDOW_SECONDS);
      await finish([pid]);
      const rate = ratesBetween(device, w.before, w.after, ALONE_WINDOW_SECONDS, policy).find(
        (r) => r.class === c,
      );
      if (rate) alone.set(c, rate.measuredBps);
    }
    return measured.map((r) => ({
      ...r,
      aloneBps: alone.get(r.class) ?? 0,
      driver: DRIVERS[r.class as DrivenClass]?.what ?? "none",
    }));
  } finally {
    // Started by this process a moment ago: no marker needed to know they are the lab's.
    for (const pid of [...senders, ...servers]) await stopGroup(pid, "");
  }
}

/** Waits until the agent's flows to the live server carry each application (or the time is up). */
async function waitClassified(client: AgentClient, apps: readonly string[], maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const { flows } = await client.runtimeFlows();
    const live = new Set<string>(Object.values(LIVE_SERVERS));
    const named = new Set(flows.filter((f) => live.has(f.dstIp)).map((f) => f.app));
    if (apps.every((a) => named.has(a))) return;
    await sleep(200);
  }
}
