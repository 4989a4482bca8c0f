import type { IpRule, Route } from "@fos1/dpi/sdk/compile";
import { listLinks, listRoutes, listRules } from "@fos1/dpi/agent/src/kernel/ip";
import { FOS1_RT_PROTO, desiredIp, diffIp, ipCommands } from "@fos1/dpi/agent/src/reconcile/ip-plan";
import { IpReconciler } from "@fos1/dpi/agent/src/reconcile/ip-reconciler";
import { ConflictError } from "@fos1/dpi/agent/src/reconcile/reconciler";
import { capture, ReplayRunner } from "./fixtures/kernel/replay-runner";
import { goldenProgram, program } from "./fixtures/programs";

/**
 * Captures from iproute2 6.1 on this machine (`-N -j`). fos1's (protocol 250):
 * IPv4 rules 1000 (0x10/0xf0 -> 101) and 1001 (0x20/0xf0 -> 102), the default
 * route of table 101 via akwan1 and a stray 10.99.0.0/16 in main; IPv6 rule
 * 1000 and table 101's default route. Someone else's rule 2000 (no protocol).
 */
function kernel() {
  return new ReplayRunner({
    "ip -N -j -4 rule show": capture("ip-rule-show-4.json"),
    "ip -N -j -6 rule show": capture("ip-rule-show-6.json"),
    "ip -N -j -4 route show table all proto 250": capture("ip-route-show-4.json"),
    "ip -N -j -6 route show table all proto 250": capture("ip-route-show-6.json"),
    "ip -j link show": capture("ip-link-show.json"),
  });
}

const rule101: IpRule = { priority: 1000, family: "inet", fwmark: 0x10, mask: 0xf0, table: 101 };
const route101: Route = { table: 101, to: "default", via: "198.51.100.1", dev: "akwan1" };
const routing = goldenProgram("routing-application-routing");

describe("ip output parsing", () => {
  it("reads rules with numeric tables, hex marks, a full mask where ip prints none, and the protocol", async () => {
    const rules = await listRules(kernel(), "inet");
    expect(rules.find((r) => r.priority === 1001)).toEqual({
      family: "inet",
      priority: 1001,
      fwmark: 0x20,
      mask: 0xf0,
      table: 102,
      protocol: FOS1_RT_PROTO,
    });
    expect(rules.find((r) => r.priority === 2000)).toMatchObject({ fwmark: 7, mask: 0xffffffff, table: 300 });
    expect(rules.find((r) => r.priority === 2000)!.protocol).toBeUndefined();
  });

  it("reads routes of every table, main where ip names none", async () => {
    expect(await listRoutes(kernel(), "inet", FOS1_RT_PROTO)).toEqual([
      { family: "inet", table: 101, dst: "default", via: "198.51.100.1", dev: "akwan1" },
      { family: "inet", table: 254, dst: "10.99.0.0/16", via: "198.51.100.1", dev: "akwan1" },
    ]);
    expect(await listRoutes(kernel(), "inet6", FOS1_RT_PROTO)).toEqual([
      { family: "inet6", table: 101, dst: "default", via: "2001:db8:1::1", dev: "akwan1" },
    ]);
  });

  it("lists the node's devices", async () => {
    expect(await listLinks(kernel())).toEqual(["lo", "akup0", "akwan1"]);
  });
});

describe("desired ip state", () => {
  it("takes the golden routing program's rules and routes, with each route's family from its gateway", () => {
    const desired = desiredIp([routing, goldenProgram("qos-default-qos-policy")]);
    expect(desired.rules.map((r) => [r.program, r.index, r.rule.priority, r.rule.table])).toEqual([
      ["routing-application-routing", 0, 1000, 101],
      ["routing-application-routing", 1, 1001, 102],
      ["routing-application-routing", 2, 1002, 200],
    ]);
    expect(desired.routes.map((r) => [r.family, r.route.table, r.route.dev])).toEqual([
      ["inet", 101, "wan1"],
      ["inet", 102, "wan2"],
      ["inet", 200, "mpls0"],
    ]);
    const v6 = desiredIp([program("v6", { routes: [{ ...route101, via: "2001:db8:1::1" }] })]);
    expect(v6.routes[0].family).toBe("inet6");
  });

  it("refuses two programs with a rule at one priority, or a default route in one table", () => {
    const rule = () => desiredIp([routing, program("other", { ipRules: [{ ...rule101, table: 150 }] })]);
    expect(rule).toThrow(ConflictError);
    expect(rule).toThrow(
      "programs routing-application-routing and other both claim the inet ip rule at priority 1000",
    );
    const route = () => desiredIp([routing, program("other", { routes: [{ ...route101, table: 102 }] })]);
    expect(route).toThrow("both claim the inet default route of table 102");
    try {
      route();
    } catch (error) {
      expect((error as ConflictError).path).toBe("spec.routes[0].table");
    }
  });

  it("lets one priority be used once per family", () => {
    const both = program("both", { ipRules: [rule101, { ...rule101, family: "inet6" }] });
    expect(desiredIp([both]).rules).toHaveLength(2);
  });
});

describe("ip drift and commands", () => {
  const mine = program("routing-lab", { ipRules: [rule101], routes: [route101] });

  it("reports changed fields at their paths and missing rules and routes whole", async () => {
    const reconciler = new IpReconciler(kernel());
    const actual = await reconciler.read();
    const changed = program("routing-lab", {
      ipRules: [
        { ...rule101, table: 150 },
        { ...rule101, priority: 1500 },
      ],
      routes: [
        { ...route101, via: "198.51.100.9" },
        { ...route101, table: 150 },
      ],
    });
    expect(diffIp(desiredIp([changed]), actual)).toEqual([
      { program: "routing-lab", path: "spec.ipRules[0].table", expected: 150, actual: 101 },
      {
        program: "routing-lab",
        path: "spec.ipRules[1]",
        expected: { ...rule101, priority: 1500 },
        actual: null,
      },
      {
        program: "routing-lab",
        path: "spec.routes[0].via",
        expected: "198.51.100.9",
        actual: "198.51.100.1",
      },
      { program: "routing-lab", path: "spec.routes[1]", expected: { ...route101, table: 150 }, actual: null },
    ]);
  });

  it("removes only fos1's stray rules and routes, never someone else's, one batch per family", async () => {
    const runner = kernel();
    const reconciler = new IpReconciler(runner);
    expect(reconciler.diff(reconciler.desired([mine]), await reconciler.read())).toEqual([]);
    expect(await reconciler.apply(reconciler.desired([mine]))).toBe(4);
    expect(runner.writes.map((w) => [w.args.join(" "), w.input])).toEqual([
      [
        "-4 -batch -",
        "rule del priority 1001 fwmark 0x20/0xf0 table 102 protocol 250\nroute del 10.99.0.0/16 table 254 proto 250\n",
      ],
      [
        "-6 -batch -",
        "rule del priority 1000 fwmark 0x10/0xf0 table 101 protocol 250\nroute del default table 101 proto 250\n",
      ],
    ]);
  });

  it("orders a change so marked packets always find a rule and a route: routes, new rules, old rules", async () => {
    const actual = await new IpReconciler(kernel()).read();
    const moved = program("routing-lab", {
      ipRules: [{ ...rule101, table: 150 }],
      routes: [route101, { ...route101, table: 150 }],
    });
    expect(ipCommands(desiredIp([moved]), actual, "inet")).toEqual([
      "route replace default via 198.51.100.1 dev akwan1 table 150 proto 250",
      "rule add priority 1000 fwmark 0x10/0xf0 table 150 protocol 250",
      "rule del priority 1000 fwmark 0x10/0xf0 table 101 protocol 250",
      "rule del priority 1001 fwmark 0x20/0xf0 table 102 protocol 250",
      "route del 10.99.0.0/16 table 254 proto 250",
    ]);
  });

  it("writes nothing when fos1's rules and routes are exactly the programs'", async () => {
    const runner = new ReplayRunner({
      "ip -N -j -4 rule show": capture("ip-rule-show-4.json"),
      "ip -N -j -6 rule show": "[]",
      "ip -N -j -4 route show table all proto 250": JSON.stringify(
        JSON.parse(capture("ip-route-show-4.json")).slice(0, 1),
      ),
      "ip -N -j -6 route show table all proto 250": "[]",
    });
    const both = program("routing-lab", {
      ipRules: [rule101, { ...rule101, priority: 1001, fwmark: 0x20, table: 102 }],
      routes: [route101],
    });
    const reconciler = new IpReconciler(runner);
    expect(await reconciler.apply(reconciler.desired([both]))).toBe(0);
    expect(runner.writes).toEqual([]);
  });

  it("fails before any write when a route's device does not exist", async () => {
    const runner = kernel();
    const reconciler = new IpReconciler(runner);
    const gone = program("routing-lab", { ipRules: [rule101], routes: [{ ...route101, dev: "akgone0" }] });
    await expect(reconciler.apply(reconciler.desired([gone]))).rejects.toThrow(
      'routing-lab: spec.routes[0].dev: no device "akgone0" on this node',
    );
    expect(runner.writes).toEqual([]);
  });
});
