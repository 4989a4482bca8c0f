import type { Command } from "@fos1/dpi/agent/src/kernel/command";
import { listingLines } from "@fos1/dpi/agent/src/reconcile/nftables-ruleset";
import { NftablesReconciler } from "@fos1/dpi/agent/src/reconcile/nftables-reconciler";
import type { NodeProgram } from "@fos1/dpi/sdk/compile";
import { CLIENT, SERVER, TestSite } from "./site";

/**
 * The nftables reconciler against the real kernel, in the router namespace
 * of a fresh test site per test. Programs are compiled from FirewallPolicy
 * documents by the sdk, as the CLI and the providers compile them.
 */
jest.setTimeout(60_000);

const firewallYaml = (name: string) => `apiVersion: networking.fos1.io/v1
kind: FirewallPolicy
metadata: { name: ${name} }
spec:
  blocks: { riskThreshold: 70, scope: source, ttl: 15m }
  applicationControl: []
`;

let site: TestSite;
let commands: Command[];
let reconciler: NftablesReconciler;
let edge: NodeProgram;
let guest: NodeProgram;
let n = 0;

const writes = () => commands.filter((c) => c.writes);
const nft = (...args: string[]) => site.exec(site.ns.router, "nft", args);
const tableOf = (p: NodeProgram) => p.spec.nftables!.table;

async function tables(): Promise<{ family: string; name: string; handle: number }[]> {
  const listed = JSON.parse(await nft("-j", "list", "tables")).nftables as { table?: never }[];
  return listed.flatMap((o) => (o.table ? [o.table] : []));
}

async function elements(table: string, set: string): Promise<{ val: string; expires?: number }[]> {
  const listed = JSON.parse(await nft("-j", "list", "set", "inet", table, set)).nftables as {
    set?: { elem?: ({ elem: { val: string; expires?: number } } | string)[] };
  }[];
  const elems = listed.find((o) => o.set)?.set?.elem ?? [];
  return elems.map((e) =>
    typeof e === "string" ? { val: e } : { val: e.elem.val, expires: e.elem.expires },
  );
}

/** One ping from the client to the server through the router: does the router forward it? */
async function clientReachesServer(): Promise<boolean> {
  try {
    await site.exec(site.ns.client, "ping", ["-c", "1", "-W", "1", SERVER]);
    return true;
  } catch {
    return false;
  }
}

beforeEach(async () => {
  site = new TestSite(`n${process.pid % 1000}${n++}`);
  await site.setup();
  commands = [];
  reconciler = new NftablesReconciler(site.routerRunner(commands));
  [edge] = site.compile(firewallYaml("edge"));
  [guest] = site.compile(firewallYaml("guest"));
});

afterEach(() => site.teardown());

it("applies the programs' tables so that reading back equals the desired state, and a second apply writes nothing", async () => {
  const desired = reconciler.desired([edge, guest]);
  expect(reconciler.diff(desired, await reconciler.read())).toHaveLength(2);

  expect(await reconciler.apply(desired)).toBe(1);
  expect(writes()).toHaveLength(1);
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([]);
  const listed = await nft("-t", "-s", "list", "table", "inet", tableOf(edge));
  expect(listingLines(listed)).toEqual(listingLines(edge.spec.nftables!.ruleset));

  commands.length = 0;
  expect(await reconciler.apply(desired)).toBe(0);
  expect(commands.length).toBeGreaterThan(0);
  expect(writes()).toEqual([]);
});

it("removing a program deletes its table and leaves the other program's table and blocks untouched", async () => {
  await reconciler.apply(reconciler.desired([edge, guest]));
  await nft("add", "element", "inet", tableOf(guest), "block_src_v4", "{ 192.0.2.99 timeout 10m }");
  const guestBefore = (await tables()).find((t) => t.name === tableOf(guest))!;

  expect(await reconciler.apply(reconciler.desired([guest]))).toBe(1);
  const after = await tables();
  expect(after.map((t) => t.name)).toEqual([tableOf(guest)]);
  // The same handle: the guest table was not re-created, only the edge table deleted.
  expect(after[0].handle).toBe(guestBefore.handle);
  expect((await elements(tableOf(guest), "block_src_v4")).map((e) => e.val)).toEqual(["192.0.2.99"]);
});

it("reports a flushed ruleset and a deleted rule as drift, and apply repairs both", async () => {
  const desired = reconciler.desired([edge]);
  await reconciler.apply(desired);

  await nft("flush", "ruleset");
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([
    {
      program: "firewall-edge",
      path: "spec.nftables.table",
      expected: `inet ${tableOf(edge)}`,
      actual: null,
    },
  ]);
  expect(await reconciler.apply(desired)).toBe(1);
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([]);

  const chain = JSON.parse(await nft("-a", "-j", "list", "chain", "inet", tableOf(edge), "forward"))
    .nftables as {
    rule?: { handle: number; comment?: string };
  }[];
  const victim = chain.find((o) => o.rule?.comment === "fos1 block_src_v4")!.rule!;
  await nft("delete", "rule", "inet", tableOf(edge), "forward", "handle", String(victim.handle));
  const drift = reconciler.diff(desired, await reconciler.read());
  expect(drift).toEqual([
    {
      program: "firewall-edge",
      path: "spec.nftables.ruleset",
      expected: ['ip saddr @block_src_v4 counter drop comment "fos1 block_src_v4"'],
      actual: [],
    },
  ]);
  expect(await reconciler.apply(desired)).toBe(1);
  expect(reconciler.diff(desired, await reconciler.read())).toEqual([]);
});

it("keeps blocks, with their remaining timeouts, across a change of the table, and they keep dropping traffic", async () => {
  await reconciler.apply(reconciler.desired([edge]));
  expect(await clientReachesServer()).toBe(true);
  await nft("add", "element", "inet", tableOf(edge), "block_src_v4", `{ ${CLIENT} timeout 10m, 192.0.2.50 }`);
  expect(await clientReachesServer()).toBe(false);
  const before = await elements(tableOf(edge), "block_src_v4");

  const changedRuleset = edge.spec.nftables!.ruleset.replace(/priority filter - 10/g, "priority filter - 20");
  const changed: NodeProgram = {
    ...edge,
    spec: { ...edge.spec, nftables: { table: tableOf(edge), ruleset: changedRuleset } },
  };
  commands.length = 0;
  expect(await reconciler.apply(reconciler.desired([changed]))).toBe(1);
  expect(writes()).toHaveLength(1);

  // nft prints "filter - 20" as "-20": the reconciler learns that listing, so applying again writes nothing.
  const chains = await nft("-t", "-s", "list", "table", "inet", tableOf(edge));
  expect(chains).toContain("type filter hook forward priority -20; policy accept;");
  expect(await reconciler.apply(reconciler.desired([changed]))).toBe(0);
  const after = await elements(tableOf(edge), "block_src_v4");
  expect(after.map((e) => e.val).sort()).toEqual([CLIENT, "192.0.2.50"]);
  const timed = after.find((e) => e.val === CLIENT)!;
  expect(timed.expires).toBeGreaterThan(0);
  expect(timed.expires).toBeLessThanOrEqual(before.find((e) => e.val === CLIENT)!.expires!);
  expect(after.find((e) => e.val === "192.0.2.50")!.expires).toBeUndefined();
  expect(await clientReachesServer()).toBe(false);
});

it("a ruleset the kernel rejects changes nothing: the previous table and its blocks stay", async () => {
  await reconciler.apply(reconciler.desired([edge]));
  await nft("add", "element", "inet", tableOf(edge), "block_src_v4", "{ 192.0.2.77 timeout 10m }");
  const before = await tables();

  const broken = edge.spec.nftables!.ruleset.replace("@block_dst_v4", "@no_such_set");
  const bad: NodeProgram = {
    ...edge,
    spec: { ...edge.spec, nftables: { table: tableOf(edge), ruleset: broken } },
  };
  await expect(reconciler.apply(reconciler.desired([bad]))).rejects.toThrow(/no_such_set/);

  expect(await tables()).toEqual(before);
  expect(reconciler.diff(reconciler.desired([edge]), await reconciler.read())).toEqual([]);
  expect((await elements(tableOf(edge), "block_src_v4")).map((e) => e.val)).toEqual(["192.0.2.77"]);
});

it("deletes fos1 tables no program owns and never touches other tables", async () => {
  await nft("add", "table", "ip", "fos1_left_over");
  await nft("add", "table", "ip", "aknat");
  await reconciler.apply(reconciler.desired([edge]));
  expect((await tables()).map((t) => t.name).sort()).toEqual(["aknat", tableOf(edge)].sort());
});
