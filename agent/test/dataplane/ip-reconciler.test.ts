import type { Command } from "@fos1/dpi/agent/src/kernel/command";
import { IpReconciler } from "@fos1/dpi/agent/src/reconcile/ip-reconciler";
import type { NodeProgram } from "@fos1/dpi/sdk/compile";
import { ROUTING_POLICY_YAML, TestSite } from "./site";

/**
 * The ip reconciler against the real kernel, in the router namespace of a
 * fresh test site per test, with a RoutingPolicy compiled for the site
 * (streaming via isp2, guests via the default uplink isp1).
 */
jest.setTimeout(60_000);

interface Rule {
  priority: number;
  fwmark?: string;
  fwmask?: string;
  table?: string;
  protocol?: string;
}

let site: TestSite;
let commands: Command[];
let reconciler: IpReconciler;
let routing: NodeProgram;
let n = 0;

const writes = () => commands.filter((c) => c.writes);
const ip = (...args: string[]) => site.exec(site.ns.router, "ip", args);
const rules = async (): Promise<Rule[]> => JSON.parse(await ip("-N", "-j", "rule", "show"));
const markRules = async () =>
  (await rules())
    .filter((r) => r.fwmark)
    .map((r) => `${r.priority} ${r.fwmark}/${r.fwmask} ${r.table} ${r.protocol}`);
/** The routes of a table; a table that never held one does not exist yet. */
async function routesOf(table: number): Promise<string[]> {
  const out = await ip("-N", "-j", "route", "show", "table", String(table)).catch((error: Error) => {
    if (/FIB table does not exist/.test(error.message)) return "[]";
    throw error;
  });
  return (JSON.parse(out) as { dst: string; gateway: string; dev: string }[]).map(
    (r) => `${r.dst} ${r.gateway} ${r.dev}`,
  );
}

beforeEach(async () => {
  site = new TestSite(`i${process.pid % 1000}${n++}`);
  await site.setup();
  commands = [];
  reconciler = new IpReconciler(site.routerRunner(commands));
  [routing] = site.compile(ROUTING_POLICY_YAML);
});

afterEach(() => site.teardown());

it("applies the uplink rules and routes so that reading back equals the program, and a second apply writes nothing", async () => {
  const desired = reconciler.desired([routing]);
  expect(await reconciler.apply(desired)).toBe(4);
  expect(writes()).toHaveLength(1);

  expect(await markRules()).toEqual(["1000 0x10/0xf0 101 250", "1001 0x20/0xf0 102 250"]);
  expect(await routesOf(101)).toEqual(["default 198.51.100.1 akwan1"]);
  expect(await routesOf(102)).toEqual(["default 203.0.113.1 akwan2"]);
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([]);

  commands.length = 0;
  expect(await reconciler.apply(desired)).toBe(0);
  expect(writes()).toEqual([]);
});

it("removing a program removes exactly its rules and routes; others', and rules fos1 did not write, stay", async () => {
  const extra: NodeProgram = {
    ...routing,
    metadata: { ...routing.metadata, name: "routing-extra" },
    spec: {
      ...routing.spec,
      ipRules: [{ priority: 1500, family: "inet", fwmark: 0x30, mask: 0xf0, table: 103 }],
      routes: [{ table: 103, to: "default", via: "203.0.113.1", dev: "akwan2" }],
    },
  };
  await ip("rule", "add", "priority", "1600", "fwmark", "0x40/0xf0", "table", "104");
  await reconciler.apply(reconciler.desired([routing, extra]));

  expect(await reconciler.apply(reconciler.desired([extra]))).toBe(4);
  expect(await markRules()).toEqual(["1500 0x30/0xf0 103 250", "1600 0x40/0xf0 104 undefined"]);
  expect(await routesOf(101)).toEqual([]);
  expect(await routesOf(102)).toEqual([]);
  expect(await routesOf(103)).toEqual(["default 203.0.113.1 akwan2"]);
});

it("reports a deleted rule and a flushed table as drift, and apply repairs them", async () => {
  const desired = reconciler.desired([routing]);
  await reconciler.apply(desired);

  await ip("rule", "del", "priority", "1001");
  await ip("route", "flush", "table", "101");
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([
    {
      program: "routing-application-routing",
      path: "spec.ipRules[1]",
      expected: { priority: 1001, family: "inet", fwmark: 0x20, mask: 0xf0, table: 102 },
      actual: null,
    },
    {
      program: "routing-application-routing",
      path: "spec.routes[0]",
      expected: { table: 101, to: "default", via: "198.51.100.1", dev: "akwan1" },
      actual: null,
    },
  ]);
  commands.length = 0;
  expect(await reconciler.apply(desired)).toBe(2);
  expect(writes()).toHaveLength(1);
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([]);
});

it("a route to a missing device fails before writing anything", async () => {
  const broken: NodeProgram = {
    ...routing,
    spec: {
      ...routing.spec,
      routes: [routing.spec.routes[0], { ...routing.spec.routes[1], dev: "akgone0" }],
    },
  };
  await expect(reconciler.apply(reconciler.desired([broken]))).rejects.toThrow(
    'routing-application-routing: spec.routes[1].dev: no device "akgone0" on this node',
  );
  expect(writes()).toEqual([]);
  expect(await markRules()).toEqual([]);
  expect(await routesOf(101)).toEqual([]);
});
