import type { Command } from "@fos1/dpi/agent/src/kernel/command";
import { TcReconciler } from "@fos1/dpi/agent/src/reconcile/tc-reconciler";
import type { NodeProgram } from "@fos1/dpi/sdk/compile";
import { qosPolicyYaml, TestSite } from "./site";

/**
 * The tc reconciler against the real kernel, in the router namespace of a
 * fresh test site per test, with the DESIGN.md QoS policy compiled for the
 * site's two 100 Mbit/s uplinks. This kernel has no fq_codel, so leaves get
 * the reconciler's pfifo fallback (asserted, not assumed).
 */
jest.setTimeout(60_000);

interface Qdisc {
  kind: string;
  handle: string;
  dev: string;
  root?: boolean;
  parent?: string;
}

let site: TestSite;
let commands: Command[];
let reconciler: TcReconciler;
let n = 0;

const writes = () => commands.filter((c) => c.writes);
const tc = (...args: string[]) => site.exec(site.ns.router, "tc", args);
const qdiscs = async (dev: string): Promise<Qdisc[]> =>
  JSON.parse(await tc("-j", "qdisc", "show", "dev", dev));
const rootOf = async (dev: string) => (await qdiscs(dev)).find((q) => q.root)!;

beforeEach(async () => {
  site = new TestSite(`t${process.pid % 1000}${n++}`);
  await site.setup();
  commands = [];
  reconciler = new TcReconciler({ runner: site.routerRunner(commands) });
});

afterEach(() => site.teardown());

it("builds each uplink's tree so that reading back equals the program, and a second apply writes nothing", async () => {
  const [qos] = site.compile(qosPolicyYaml("default-qos-policy"));
  const desired = reconciler.desired([qos]);
  expect(await reconciler.leafQdisc()).toBe("pfifo");

  expect(await reconciler.apply(desired)).toBe(20);
  expect(writes().map((w) => w.args.join(" "))).toEqual(["-batch -", "-batch -"]);
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([]);

  const classes = await tc("-d", "class", "show", "dev", site.dev.wan1);
  expect(classes).toMatch(
    /class htb 1:11 parent 1:1 leaf \S+ prio 0 quantum 200000 rate 20Mbit ceil 40Mbit /,
  );
  expect(classes).toMatch(/class htb 1:13 parent 1:1 leaf \S+ prio 4 quantum 12500 rate 1Mbit ceil 20Mbit /);
  const leaves = (await qdiscs(site.dev.wan1)).filter((q) => q.parent);
  expect(leaves.map((q) => [q.parent, q.kind]).sort()).toEqual([
    ["1:10", "pfifo"],
    ["1:11", "pfifo"],
    ["1:12", "pfifo"],
    ["1:13", "pfifo"],
  ]);

  commands.length = 0;
  expect(await reconciler.apply(desired)).toBe(0);
  expect(writes()).toEqual([]);
});

it("a changed class is changed in place, alone: same qdiscs, one tc command", async () => {
  const [qos] = site.compile(qosPolicyYaml("default-qos-policy"));
  await reconciler.apply(reconciler.desired([qos]));
  const before = await qdiscs(site.dev.wan1);

  const [narrower] = site.compile(qosPolicyYaml("default-qos-policy", { webMax: "50%" }));
  const desired = reconciler.desired([narrower]);
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([
    {
      program: "qos-default-qos-policy",
      path: "spec.tc[0].classes[3].ceilBps",
      expected: 50_000_000,
      actual: 60_000_000,
    },
    {
      program: "qos-default-qos-policy",
      path: "spec.tc[1].classes[3].ceilBps",
      expected: 50_000_000,
      actual: 60_000_000,
    },
  ]);
  commands.length = 0;
  expect(await reconciler.apply(desired)).toBe(2);
  expect(writes().map((w) => w.input)).toEqual([
    `class change dev ${site.dev.wan1} parent 1:1 classid 1:12 htb rate 10000000bit ceil 50000000bit prio 2 quantum 125000\n`,
    `class change dev ${site.dev.wan2} parent 1:1 classid 1:12 htb rate 10000000bit ceil 50000000bit prio 2 quantum 125000\n`,
  ]);
  expect(await qdiscs(site.dev.wan1)).toEqual(before);
  expect(await tc("class", "show", "dev", site.dev.wan1, "classid", "1:12")).toMatch(
    /rate 10Mbit ceil 50Mbit/,
  );
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([]);
});

it("removing a program removes its tree and leaves the other program's tree as it was", async () => {
  const [isp1Qos, isp2Qos] = site.compile(
    qosPolicyYaml("isp1-qos", { uplinks: ["isp1"] }) +
      "---\n" +
      qosPolicyYaml("isp2-qos", { uplinks: ["isp2"] }),
  );
  await reconciler.apply(reconciler.desired([isp1Qos, isp2Qos]));
  const isp2Before = await qdiscs(site.dev.wan2);

  expect(await reconciler.apply(reconciler.desired([isp2Qos]))).toBe(1);
  expect(await rootOf(site.dev.wan1)).toMatchObject({ kind: "noqueue", handle: "0:" });
  expect(await qdiscs(site.dev.wan2)).toEqual(isp2Before);
});

it("reports a deleted qdisc and an out-of-band class change as drift, and apply repairs them", async () => {
  const [qos] = site.compile(qosPolicyYaml("default-qos-policy"));
  const desired = reconciler.desired([qos]);
  await reconciler.apply(desired);

  await tc("qdisc", "del", "dev", site.dev.wan1, "root");
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([
    {
      program: "qos-default-qos-policy",
      path: "spec.tc[0]",
      expected: "htb 1: on akwan1",
      actual: "noqueue 0:",
    },
  ]);
  expect(await reconciler.apply(desired)).toBe(10);
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([]);

  await tc(
    ...`class change dev ${site.dev.wan2} parent 1:1 classid 1:13 htb rate 1Mbit ceil 90Mbit prio 4 quantum 12500`.split(
      " ",
    ),
  );
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([
    {
      program: "qos-default-qos-policy",
      path: "spec.tc[1].classes[4].ceilBps",
      expected: 20_000_000,
      actual: 90_000_000,
    },
  ]);
  commands.length = 0;
  expect(await reconciler.apply(desired)).toBe(1);
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([]);
});

it("a program naming a missing device fails before writing anything: no half-built tree anywhere", async () => {
  const [qos] = site.compile(qosPolicyYaml("default-qos-policy"));
  const broken: NodeProgram = {
    ...qos,
    spec: { ...qos.spec, tc: [qos.spec.tc[0], { ...qos.spec.tc[1], device: "akgone0" }] },
  };
  await expect(reconciler.apply(reconciler.desired([broken]))).rejects.toThrow(
    'qos-default-qos-policy: spec.tc[1].device: no device "akgone0" on this node',
  );
  expect(writes()).toEqual([]);
  expect(await rootOf(site.dev.wan1)).toMatchObject({ kind: "noqueue" });
});

it("a tree the kernel rejects part-way is torn down, not left half-built", async () => {
  const [qos] = site.compile(qosPolicyYaml("default-qos-policy", { uplinks: ["isp1"] }));
  const classes = qos.spec.tc[0].classes;
  // Line 7 of the batch (a class of rate 0) is refused after the root and five classes were built.
  const bad: NodeProgram = {
    ...qos,
    spec: {
      ...qos.spec,
      tc: [
        {
          ...qos.spec.tc[0],
          classes: [...classes, { ...classes[4], classid: "1:20", parent: "1:13", rateBps: 0 }],
        },
      ],
    },
  };
  await expect(reconciler.apply(reconciler.desired([bad]))).rejects.toThrow(/Command failed -:7/);
  expect(await rootOf(site.dev.wan1)).toMatchObject({ kind: "noqueue" });
});

it("leaves devices no program owns alone, unless their root is a tree fos1 made", async () => {
  await tc(
    "qdisc",
    "add",
    "dev",
    site.dev.wan2,
    "root",
    "handle",
    "5:",
    "tbf",
    "rate",
    "1mbit",
    "burst",
    "32kbit",
    "latency",
    "50ms",
  );
  const [qos] = site.compile(qosPolicyYaml("isp1-qos", { uplinks: ["isp1"] }));
  await reconciler.apply(reconciler.desired([qos]));
  expect(await rootOf(site.dev.wan2)).toMatchObject({ kind: "tbf", handle: "5:" });

  expect(await reconciler.apply(reconciler.desired([]))).toBe(1);
  expect(await rootOf(site.dev.wan1)).toMatchObject({ kind: "noqueue" });
  expect(await rootOf(site.dev.wan2)).toMatchObject({ kind: "tbf", handle: "5:" });
});
