import { execFileSync } from "node:child_process";
import { mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  APP_NEVER_OFFLOAD,
  APP_OFFLOAD_ALLOWED,
  CFG_INSPECT_ALL,
  CFG_OFFLOAD_ENABLED,
  FlowState,
  MAP_NAMES,
  PROGRAMS,
  STATS,
  decode,
  encode,
  encodeU32,
  flowKeyOf,
  type Config,
  type FlowKey,
  type StatName,
} from "@fos1/dpi/sdk/abi";
import { NetnsLab } from "./lib";

/**
 * The fast path with real forwarding, driven through the pinned maps the way
 * the agent drives them: a router namespace with the programs attached, an
 * ICMP echo flow offloaded by read-modify-write of its entry, then an
 * application-policy change that only takes effect once policy_generation is
 * bumped (each flow keeps a copy of its application's policy until then).
 */
const BPF_BUILD = join(__dirname, "..", "..", "bpf", "build");
const APP_ID = 4242;
const ECHO_ID = 4711;
const SRC = "10.20.1.2";
const DST = "10.20.2.2";

const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, "0"));

let lab: NetnsLab;
let pinRoot: string;
let src: string;

function bpftool(args: string[]): string {
  return execFileSync("bpftool", args, { encoding: "utf8" });
}

const pinned = (map: string) => join(pinRoot, map);

function mapUpdate(map: string, key: Buffer, value: Buffer): void {
  bpftool(["map", "update", "pinned", pinned(map), "key", "hex", ...hex(key), "value", "hex", ...hex(value)]);
}

function mapLookup(map: string, key: Buffer): Buffer {
  const out = JSON.parse(
    bpftool(["-j", "map", "lookup", "pinned", pinned(map), "key", "hex", ...hex(key)]),
  ) as {
    value: string[];
  };
  return Buffer.from(out.value.map((x) => parseInt(x, 16)));
}

function stat(name: StatName): number {
  const out = JSON.parse(
    bpftool([
      "-j",
      "map",
      "lookup",
      "pinned",
      pinned(MAP_NAMES.stats),
      "key",
      "hex",
      ...hex(encodeU32(STATS.indexOf(name))),
    ]),
  ) as { values: { value: string[] }[] };
  return out.values.reduce(
    (sum, v) => sum + Number(Buffer.from(v.value.map((x) => parseInt(x, 16))).readBigUInt64LE(0)),
    0,
  );
}

function config(): Config {
  return decode("config", mapLookup(MAP_NAMES.config, encodeU32(0)));
}

function appPolicy(flags: number): void {
  mapUpdate(MAP_NAMES.appPolicy, encodeU32(APP_ID), encode("appPolicy", { classId: 0, flags }));
}

/** What the agent must do after writing fos1_app_policy or fos1_qos_classes. */
function policyChanged(): void {
  const c = config();
  mapUpdate(
    MAP_NAMES.config,
    encodeU32(0),
    encode("config", { ...c, policyGeneration: c.policyGeneration + 1 }),
  );
}

const echoKey: FlowKey = flowKeyOf({ src: SRC, dst: DST, sport: ECHO_ID, dport: ECHO_ID, proto: 1 }).key;
const flow = () => decode("flow", mapLookup(MAP_NAMES.flows, encode("flowKey", echoKey)));

/** Echo requests from src to dst with the fixed identifier; every one must be answered. */
function ping(count: number): void {
  lab.exec(src, "ping", ["-q", "-c", String(count), "-i", "0.01", "-W", "1", "-e", String(ECHO_ID), DST]);
}

beforeAll(() => {
  lab = new NetnsLab("fp");
  pinRoot = mkdtempSync(join(tmpdir(), "fp-policy-bpffs-"));
  execFileSync("mount", ["-t", "bpf", "bpf", pinRoot]);
  src = lab.namespace("src");
  const rtr = lab.namespace("rtr");
  const dst = lab.namespace("dst");
  // IPv4 only: the kernel's own IPv6 traffic on new links (router solicitations, MLD) would be
  // mirrored as new flows at moments of its choosing and spoil the mirror counts compared here.
  for (const ns of [src, rtr, dst]) {
    for (const scope of ["all", "default"])
      lab.exec(ns, "sysctl", ["-qw", `net.ipv6.conf.${scope}.disable_ipv6=1`]);
  }
  lab.veth({ ns: src, name: "fps0" }, { ns: rtr, name: "fpr0" });
  lab.veth({ ns: rtr, name: "fpr1" }, { ns: dst, name: "fpd0" });
  lab.veth({ ns: rtr, name: "fpm0" }, { ns: rtr, name: "fpm1" });
  lab.exec(src, "ip", ["addr", "add", `${SRC}/24`, "dev", "fps0"]);
  lab.exec(src, "ip", ["route", "add", "default", "via", "10.20.1.1"]);
  lab.exec(rtr, "ip", ["addr", "add", "10.20.1.1/24", "dev", "fpr0"]);
  lab.exec(rtr, "ip", ["addr", "add", "10.20.2.1/24", "dev", "fpr1"]);
  lab.exec(rtr, "sysctl", ["-qw", "net.ipv4.conf.all.forwarding=1"]);
  lab.exec(dst, "ip", ["addr", "add", `${DST}/24`, "dev", "fpd0"]);
  lab.exec(dst, "ip", ["route", "add", "default", "via", "10.20.2.1"]);
  // Neighbours resolved before the programs run: the fast path needs them in the FIB result.
  lab.exec(src, "ping", ["-q", "-c", "1", "-W", "2", DST]);

  execFileSync(join(BPF_BUILD, "fos1-load"), [BPF_BUILD, pinRoot], { stdio: "pipe" });
  const prog = (p: { name: string }) => join(pinRoot, "progs", p.name);
  for (const dev of ["fpr0", "fpr1"]) lab.exec(rtr, "tc", ["qdisc", "add", "dev", dev, "clsact"]);
  lab.exec(rtr, "tc", [
    "filter",
    "add",
    "dev",
    "fpr0",
    "ingress",
    "bpf",
    "da",
    "pinned",
    prog(PROGRAMS.ingressLan),
  ]);
  lab.exec(rtr, "tc", [
    "filter",
    "add",
    "dev",
    "fpr1",
    "ingress",
    "bpf",
    "da",
    "pinned",
    prog(PROGRAMS.ingressUplink),
  ]);
  const mirrorIfindex = Number(lab.exec(rtr, "cat", ["/sys/class/net/fpm0/ifindex"]).trim());
  mapUpdate(
    MAP_NAMES.config,
    encodeU32(0),
    encode("config", {
      ...config(),
      flags: CFG_OFFLOAD_ENABLED | CFG_INSPECT_ALL,
      mirrorIfindex,
      nexthopTtlNs: 1_000_000_000n,
    }),
  );
  appPolicy(APP_OFFLOAD_ALLOWED);
  policyChanged();
});

afterAll(() => {
  lab?.teardown();
  if (pinRoot) {
    execFileSync("umount", [pinRoot]);
    rmdirSync(pinRoot);
  }
});

it("an offloaded echo flow is forwarded by the fast path both ways, and is mirrored no more", () => {
  ping(2);
  expect(flow().state).toBe(FlowState.INSPECT);
  const mirrored = stat("mirrored");
  expect(mirrored).toBeGreaterThanOrEqual(4);

  mapUpdate(
    MAP_NAMES.flows,
    encode("flowKey", echoKey),
    encode("flow", { ...flow(), state: FlowState.OFFLOADED, appId: APP_ID }),
  );
  const fast = stat("fastpath");
  ping(10);
  expect(stat("fastpath") - fast).toBe(20);
  expect(stat("mirrored")).toBe(mirrored);
  expect(flow()).toMatchObject({ state: FlowState.OFFLOADED, appKey: APP_ID, appFlags: APP_OFFLOAD_ALLOWED });
});

it("an application opt-out reaches the offloaded flow at the policy_generation bump, not before", () => {
  appPolicy(APP_OFFLOAD_ALLOWED | APP_NEVER_OFFLOAD);
  const fast = stat("fastpath");
  ping(3);
  expect(stat("fastpath") - fast).toBe(6);

  policyChanged();
  const revoked = stat("offload_revoked");
  const mirrored = stat("mirrored");
  ping(3);
  expect(stat("fastpath") - fast).toBe(6);
  expect(stat("offload_revoked") - revoked).toBe(1);
  expect(stat("mirrored") - mirrored).toBe(6);
  expect(flow()).toMatchObject({
    state: FlowState.INSPECT,
    appGen: config().policyGeneration,
    appFlags: APP_OFFLOAD_ALLOWED | APP_NEVER_OFFLOAD,
  });
});
