import type { TcDevice } from "@fos1/dpi/sdk/compile";
import { CommandError } from "@fos1/dpi/agent/src/kernel/command";
import { listQdiscs, parseClassText } from "@fos1/dpi/agent/src/kernel/tc";
import { parseTcRate, tcRateText } from "@fos1/dpi/agent/src/kernel/tc-rate";
import { ConflictError } from "@fos1/dpi/agent/src/reconcile/reconciler";
import {
  FOS1_HTB_R2Q,
  buildCommands,
  changeCommands,
  compareDevice,
  desiredTc,
  unownedDevices,
} from "@fos1/dpi/agent/src/reconcile/tc-plan";
import { TcReconciler } from "@fos1/dpi/agent/src/reconcile/tc-reconciler";
import { capture, ReplayRunner } from "./fixtures/kernel/replay-runner";
import { goldenProgram, program } from "./fixtures/programs";

/**
 * Captures from iproute2 6.1 on this machine: the branch QoS tree for isp1
 * built on `akwan1` by the reconciler (the kernel has no fq_codel, so pfifo
 * leaves), and a tree of odd rates to pin down how tc prints rates.
 */
const qos = goldenProgram("qos-default-qos-policy");
const isp1: TcDevice = { ...qos.spec.tc[0], device: "akwan1" };
const lab = program("qos-lab", { tc: [isp1] });

function kernel(classes = capture("tc-class-show.txt")) {
  return new ReplayRunner({
    "tc -j qdisc show": capture("tc-qdisc-show.json"),
    "tc -d class show dev akwan1": classes,
    // What this kernel (no CONFIG_NET_SCH_FQ_CODEL) answers the probe.
    "unshare --net tc qdisc add dev lo root fq_codel": () => {
      throw new CommandError(
        {
          file: "unshare",
          args: ["--net", "tc", "qdisc", "add", "dev", "lo", "root", "fq_codel"],
          writes: false,
        },
        2,
        "Error: Specified qdisc kind is unknown.\n",
      );
    },
  });
}

describe("tc output parsing", () => {
  it("reads the class lines tc prints even with -j (iproute2 6.1)", () => {
    const classes = parseClassText(capture("tc-class-show.txt"), "tc");
    expect(classes.find((c) => c.classid === "1:13")).toEqual({
      kind: "htb",
      classid: "1:13",
      parent: "1:1",
      leaf: "8007:",
      prio: 4,
      quantum: 12500,
      rateBps: 1_000_000,
      ceilBps: 20_000_000,
      level: 0,
    });
    const root = classes.find((c) => c.classid === "1:1")!;
    expect(root.parent).toBe("1:");
    expect(root.prio).toBeUndefined();
    expect(root.level).toBe(7);
  });

  it("prints every rate as tc printed it for the same input (captured batch and output)", () => {
    const batch = capture("tc-class-show-rates.batch");
    const given = new Map(
      [...batch.matchAll(/classid (\S+) htb rate (\d+)bit ceil (\d+)bit/g)].map((m) => [
        m[1],
        [+m[2], +m[3]],
      ]),
    );
    const printed = [
      ...capture("tc-class-show-rates.txt").matchAll(/class htb (\S+) .*? rate (\S+) ceil (\S+) /g),
    ];
    expect(printed).toHaveLength(given.size);
    for (const [, classid, rate, ceil] of printed) {
      const [wantRate, wantCeil] = given.get(classid)!;
      expect([classid, tcRateText(wantRate), tcRateText(wantCeil)]).toEqual([classid, rate, ceil]);
    }
  });

  it("parses printed rates to bits per second", () => {
    expect(parseTcRate("69Mbit")).toBe(69_000_000);
    expect(parseTcRate("34500Kbit")).toBe(34_500_000);
    expect(parseTcRate("999992bit")).toBe(999_992);
    expect(parseTcRate("2500Mbit")).toBe(2_500_000_000);
    expect(() => parseTcRate("12Mbps")).toThrow(/not a rate/);
  });

  it("rejects a line that is not a class, naming the line", () => {
    expect(() => parseClassText("class htb 1:10 parent 1:1 rate 1Mbit\nqdisc htb 1: root\n", "tc x")).toThrow(
      'tc x: unexpected output at line 2: not a class line: "qdisc htb 1: root"',
    );
  });

  it("reads qdiscs of every device, with fos1's marker on the root", async () => {
    const qdiscs = await listQdiscs(kernel());
    expect(qdiscs.filter((q) => q.root).map((q) => [q.dev, q.kind, q.options?.r2q])).toEqual([
      ["akup0", "noqueue", undefined],
      ["akwan1", "htb", FOS1_HTB_R2Q],
    ]);
    expect(qdiscs.filter((q) => q.parent?.startsWith("1:")).map((q) => q.parent)).toEqual(
      expect.arrayContaining(["1:10", "1:11", "1:12", "1:13"]),
    );
  });
});

describe("desired tc state", () => {
  it("takes every uplink tree of the golden QoS program", () => {
    const desired = desiredTc([qos, goldenProgram("routing-application-routing")]);
    expect(desired.devices.map((d) => [d.program, d.index, d.spec.device])).toEqual([
      ["qos-default-qos-policy", 0, "wan1"],
      ["qos-default-qos-policy", 1, "wan2"],
      ["qos-default-qos-policy", 2, "mpls0"],
    ]);
  });

  it("refuses two programs shaping one device", () => {
    const other = program("qos-other", { tc: [qos.spec.tc[1]] });
    const attempt = () => desiredTc([qos, other]);
    expect(attempt).toThrow(ConflictError);
    expect(attempt).toThrow(
      "programs qos-default-qos-policy and qos-other both claim the HTB tree of device wan2",
    );
    try {
      attempt();
    } catch (error) {
      expect((error as ConflictError).path).toBe("spec.tc[0].device");
    }
  });

  it.each([
    [
      "a default class outside the tree",
      { defaultClass: "1:99" },
      /spec.tc\[0\].defaultClass: 1:99 is not a leaf/,
    ],
    ["an inner default class", { defaultClass: "1:1" }, /spec.tc\[0\].defaultClass: 1:1 is not a leaf/],
  ])("refuses %s", (_what, change, message) => {
    expect(() => desiredTc([program("bad", { tc: [{ ...isp1, ...change }] })])).toThrow(message);
  });

  it("refuses a class whose parent is not in the tree, and a class of another major", () => {
    const orphan = {
      ...isp1,
      classes: [...isp1.classes, { ...isp1.classes[4], classid: "1:20", parent: "1:5" }],
    };
    expect(() => desiredTc([program("bad", { tc: [orphan] })])).toThrow(
      /classes\[5\]\.parent: 1:5 is neither/,
    );
    const foreign = { ...isp1, classes: [...isp1.classes, { ...isp1.classes[4], classid: "2:20" }] };
    expect(() => desiredTc([program("bad", { tc: [foreign] })])).toThrow(
      /classes\[5\]\.classid: 2:20 is not a class/,
    );
  });
});

describe("tc drift and plans", () => {
  it("finds no drift and writes nothing where the captured tree is the program's", async () => {
    const runner = kernel();
    const reconciler = new TcReconciler({ runner });
    const desired = reconciler.desired([lab]);
    expect(reconciler.diff(desired, await reconciler.read())).toEqual([]);
    expect(await reconciler.apply(desired)).toBe(0);
    expect(runner.writes).toEqual([]);
  });

  it("reports a changed ceil at the class's path and changes only that class", async () => {
    const classes = capture("tc-class-show.txt").replace(
      "rate 10Mbit ceil 60Mbit",
      "rate 10Mbit ceil 50Mbit",
    );
    const runner = kernel(classes);
    const reconciler = new TcReconciler({ runner });
    const desired = reconciler.desired([lab]);
    expect(reconciler.diff(desired, await reconciler.read())).toEqual([
      { program: "qos-lab", path: "spec.tc[0].classes[3].ceilBps", expected: 60_000_000, actual: 50_000_000 },
    ]);
    expect(await reconciler.apply(desired)).toBe(1);
    expect(runner.writes.map((w) => w.input)).toEqual([
      "class change dev akwan1 parent 1:1 classid 1:12 htb rate 10000000bit ceil 60000000bit prio 2 quantum 125000\n",
    ]);
  });

  it("rebuilds the whole tree when a class is missing, deleting the old root first", async () => {
    const classes = capture("tc-class-show.txt")
      .split("\n")
      .filter((l) => !l.includes("1:11 "))
      .join("\n");
    const runner = kernel(classes);
    const reconciler = new TcReconciler({ runner });
    const desired = reconciler.desired([lab]);
    expect(reconciler.diff(desired, await reconciler.read())).toEqual([
      { program: "qos-lab", path: "spec.tc[0].classes[2]", expected: "1:11", actual: null },
    ]);
    // Delete, root, five classes, four leaf qdiscs.
    expect(await reconciler.apply(desired)).toBe(11);
    expect(runner.writes[0].input!.split("\n").slice(0, 4)).toEqual([
      "qdisc del dev akwan1 root",
      `qdisc add dev akwan1 root handle 1: htb default 10 r2q ${FOS1_HTB_R2Q}`,
      "class add dev akwan1 parent 1: classid 1:1 htb rate 100000000bit ceil 100000000bit prio 0 quantum 200000",
      "class add dev akwan1 parent 1:1 classid 1:10 htb rate 69000000bit ceil 100000000bit prio 3 quantum 200000",
    ]);
  });

  it("removes the fos1 tree of a device no program owns, and touches no other device", async () => {
    const runner = kernel();
    const reconciler = new TcReconciler({ runner });
    expect(await reconciler.apply(reconciler.desired([]))).toBe(1);
    expect(runner.writes.map((w) => w.input)).toEqual(["qdisc del dev akwan1 root\n"]);
  });

  it("fails before any write when a desired device does not exist", async () => {
    const runner = kernel();
    const reconciler = new TcReconciler({ runner });
    const missing = program("qos-lab", { tc: [isp1, { ...qos.spec.tc[1], device: "akgone0" }] });
    await expect(reconciler.apply(reconciler.desired([missing]))).rejects.toThrow(
      'qos-lab: spec.tc[1].device: no device "akgone0" on this node',
    );
    expect(runner.writes).toEqual([]);
  });
});

describe("leaf qdisc", () => {
  it("is pfifo on this kernel, which lacks fq_codel, and fq_codel where the probe succeeds", async () => {
    expect(await new TcReconciler({ runner: kernel() }).leafQdisc()).toBe("pfifo");
    const capable = new ReplayRunner({ "unshare --net tc qdisc add dev lo root fq_codel": "" });
    expect(await new TcReconciler({ runner: capable }).leafQdisc()).toBe("fq_codel");
  });

  it("makes a kernel without fq_codel an error when no fallback is allowed", async () => {
    const strict = new TcReconciler({ runner: kernel(), leafQdiscFallback: false });
    await expect(strict.read()).rejects.toThrow(
      "this kernel has no fq_codel qdisc, and no fallback is allowed",
    );
  });
});

describe("tc commands", () => {
  it("builds parents before children and puts the leaf qdisc under every leaf", () => {
    const shuffled: TcDevice = { ...isp1, classes: [...isp1.classes].reverse() };
    const lines = buildCommands(shuffled, undefined, "fq_codel");
    expect(lines[0]).toBe(`qdisc add dev akwan1 root handle 1: htb default 10 r2q ${FOS1_HTB_R2Q}`);
    expect(lines[1]).toMatch(/classid 1:1 /);
    expect(lines.filter((l) => l.endsWith("fq_codel"))).toEqual(
      ["1:13", "1:12", "1:11", "1:10"].map((id) => `qdisc add dev akwan1 parent ${id} fq_codel`),
    );
  });

  it("replaces no default root qdisc (handle 0:) but deletes any other", () => {
    const noqueue = { device: "akwan1", ours: false, classes: [], children: [] };
    expect(
      buildCommands(
        isp1,
        { ...noqueue, root: { kind: "noqueue", handle: "0:", dev: "akwan1", root: true } },
        "pfifo",
      )[0],
    ).toMatch(/^qdisc add/);
    expect(
      buildCommands(
        isp1,
        { ...noqueue, root: { kind: "tbf", handle: "8001:", dev: "akwan1", root: true } },
        "pfifo",
      )[0],
    ).toBe("qdisc del dev akwan1 root");
  });

  it("changes classes in place with every HTB parameter", () => {
    expect(changeCommands(isp1, [isp1.classes[1]])).toEqual([
      "class change dev akwan1 parent 1:1 classid 1:10 htb rate 69000000bit ceil 100000000bit prio 3 quantum 200000",
    ]);
  });

  it("counts only devices with a fos1 root as unowned", async () => {
    const actual = await new TcReconciler({ runner: kernel() }).read();
    expect(unownedDevices({ devices: [] }, actual)).toEqual(["akwan1"]);
    const reshaped = compareDevice(
      desiredTc([program("p", { tc: [{ ...isp1, device: "akup0" }] })]).devices[0],
      actual,
    );
    expect(reshaped.reshape).toBe(true);
    expect(reshaped.drift[0]).toMatchObject({ path: "spec.tc[0]", actual: "noqueue 0:" });
  });
});
