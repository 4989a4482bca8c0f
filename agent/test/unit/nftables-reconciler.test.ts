import { listTables, renderElement, tableSets } from "@fos1/dpi/agent/src/kernel/nft";
import { ToolOutputError } from "@fos1/dpi/agent/src/kernel/tool-json";
import { NftablesReconciler } from "@fos1/dpi/agent/src/reconcile/nftables-reconciler";
import { capture, ReplayRunner } from "./fixtures/kernel/replay-runner";
import { goldenProgram, program } from "./fixtures/programs";

/**
 * The nftables reconciler over output captured from nft 1.0.6 on this
 * machine: the branch firewall table holding blocks of every shape, a
 * leftover `fos1_lab` table and someone else's `other` table.
 */
const firewall = goldenProgram("firewall-branch-firewall");
const T = firewall.spec.nftables!.table;

function kernel(overrides: Record<string, string> = {}) {
  return new ReplayRunner({
    "nft -j list tables": capture("nft-list-tables.json"),
    [`nft -t -s list table inet ${T}`]: capture("nft-list-table-firewall-terse.txt"),
    [`nft -j list table inet ${T}`]: capture("nft-list-table-firewall.json"),
    "nft -t -s list table ip fos1_lab":
      "table ip fos1_lab {\n\tset nets {\n\t\ttype ipv4_addr\n\t\tflags interval,timeout\n\t}\n}\n",
    ...overrides,
  });
}

describe("nft output parsing", () => {
  it("lists every table with its family", async () => {
    expect(await listTables(kernel())).toEqual([
      { family: "inet", name: T },
      { family: "ip", name: "fos1_lab" },
      { family: "ip", name: "other" },
    ]);
  });

  it("renders captured elements back as nft script, keeping the time they have left", async () => {
    const sets = await tableSets(kernel(), { family: "inet", name: T });
    const rendered = Object.fromEntries(sets.map((s) => [s.name, (s.elem ?? []).map(renderElement)]));
    expect(rendered).toEqual({
      block_src_v4: ["192.0.2.7 timeout 899s", "192.0.2.8"],
      block_src_v6: [],
      block_dst_v4: [],
      block_dst_v6: ['2001:db8::7 timeout 29s comment "risk 90"'],
      block_flow_v4: ["10.10.1.2 . tcp . 40000 . 198.51.100.9 . 443 timeout 3599s"],
      block_flow_v6: ["fd00:10::2 . udp . 5353 . 2001:db8::9 . 53"],
    });
  });

  it("renders ranges and prefixes of interval sets", async () => {
    const runner = new ReplayRunner({ "nft -j list table ip fos1_lab": capture("nft-list-table-lab.json") });
    const [nets] = await tableSets(runner, { family: "ip", name: "fos1_lab" });
    expect(nets.elem!.map(renderElement)).toEqual(["10.1.0.0-10.1.0.9 timeout 3599s", "10.2.0.0/16"]);
  });

  it("rejects an element that could not be written back safely, with the path of the bad value", async () => {
    const hostile = capture("nft-list-table-lab.json").replace(
      '"10.2.0.0"',
      '"10.2.0.0 }; flush ruleset; {"',
    );
    const runner = new ReplayRunner({ "nft -j list table ip fos1_lab": hostile });
    await expect(tableSets(runner, { family: "ip", name: "fos1_lab" })).rejects.toThrow(ToolOutputError);
    await expect(tableSets(runner, { family: "ip", name: "fos1_lab" })).rejects.toThrow(
      /nftables\[2\]\.set\.elem\[1\]\.prefix\.addr/,
    );
  });

  it("names the tool when its output is not JSON", async () => {
    await expect(listTables(new ReplayRunner({ "nft -j list tables": "Error: x" }))).rejects.toThrow(
      "nft -j list tables: unexpected output at (top): not JSON",
    );
  });
});

describe("NftablesReconciler", () => {
  it("reads every fos1 table, and only fos1 tables", async () => {
    const actual = await new NftablesReconciler(kernel()).read();
    expect(actual.tables.map((t) => `${t.family} ${t.name}`)).toEqual([`inet ${T}`, "ip fos1_lab"]);
  });

  it("with the table in place, deletes only the unowned fos1 table, in one transaction", async () => {
    const runner = kernel();
    expect(
      await new NftablesReconciler(runner).apply(new NftablesReconciler(runner).desired([firewall])),
    ).toBe(1);
    expect(runner.writes).toEqual([
      { file: "nft", args: ["-f", "-"], input: "delete table ip fos1_lab\n", writes: true },
    ]);
  });

  it("writes nothing when the kernel already holds exactly the programs' tables", async () => {
    const runner = kernel({
      "nft -j list tables": capture("nft-list-tables.json").replace(
        /, \{"table": \{"family": "ip", "name": "fos1_lab"[^}]*\}\}/,
        "",
      ),
    });
    const reconciler = new NftablesReconciler(runner);
    expect(await reconciler.apply(reconciler.desired([firewall]))).toBe(0);
    expect(runner.writes).toEqual([]);
    expect(runner.commands.every((c) => !c.writes)).toBe(true);
  });

  it("re-creates a changed table with its blocks, in the same transaction that drops the unowned table", async () => {
    const changedRuleset = firewall.spec.nftables!.ruleset.replace(
      "priority filter - 10",
      "priority filter - 20",
    );
    const changed = program("firewall-branch-firewall", { nftables: { table: T, ruleset: changedRuleset } });
    const after = capture("nft-list-table-firewall-terse.txt").replace(/filter - 10/g, "filter - 20");
    const runner: ReplayRunner = new ReplayRunner({
      "nft -j list tables": capture("nft-list-tables.json"),
      // After the transaction the kernel lists the new ruleset; the reconciler remembers that listing.
      [`nft -t -s list table inet ${T}`]: () =>
        runner.writes.length > 0 ? after : capture("nft-list-table-firewall-terse.txt"),
      [`nft -j list table inet ${T}`]: capture("nft-list-table-firewall.json"),
      "nft -t -s list table ip fos1_lab": "table ip fos1_lab {\n}\n",
    });
    const reconciler = new NftablesReconciler(runner);
    expect(await reconciler.apply(reconciler.desired([changed]))).toBe(1);
    expect(runner.writes).toHaveLength(1);
    const script = runner.writes[0].input!.split("\n");
    expect(script.slice(0, 3)).toEqual([
      `add table inet ${T}`,
      `delete table inet ${T}`,
      `table inet ${T} {`,
    ]);
    expect(script.filter((l) => l.startsWith("add element"))).toEqual([
      `add element inet ${T} block_src_v4 { 192.0.2.7 timeout 899s, 192.0.2.8 }`,
      `add element inet ${T} block_dst_v6 { 2001:db8::7 timeout 29s comment "risk 90" }`,
      `add element inet ${T} block_flow_v4 { 10.10.1.2 . tcp . 40000 . 198.51.100.9 . 443 timeout 3599s }`,
      `add element inet ${T} block_flow_v6 { fd00:10::2 . udp . 5353 . 2001:db8::9 . 53 }`,
    ]);
    expect(script.at(-2)).toBe("delete table ip fos1_lab");
    expect(script.join("\n")).not.toMatch(/table ip other/);
  });

  it("drops the elements of a set whose type changed, since they no longer fit", async () => {
    const retyped = firewall.spec.nftables!.ruleset.replace(
      "set block_src_v4 {\n\t\ttype ipv4_addr",
      "set block_src_v4 {\n\t\ttype ipv6_addr",
    );
    const runner = kernel();
    const reconciler = new NftablesReconciler(runner);
    await reconciler.apply(
      reconciler.desired([program("firewall-branch-firewall", { nftables: { table: T, ruleset: retyped } })]),
    );
    const adds = runner.writes[0].input!.split("\n").filter((l) => l.startsWith("add element"));
    expect(adds.some((l) => l.includes("block_src_v4"))).toBe(false);
    expect(adds.some((l) => l.includes("block_flow_v4"))).toBe(true);
  });
});
