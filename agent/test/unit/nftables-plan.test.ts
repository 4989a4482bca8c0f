import { listingLines, rulesetTables, setDeclarations } from "@fos1/dpi/agent/src/reconcile/nftables-ruleset";
import {
  desiredNftables,
  diffTable,
  nftScript,
  unownedTables,
  type NftActual,
} from "@fos1/dpi/agent/src/reconcile/nftables-plan";
import { ConflictError } from "@fos1/dpi/agent/src/reconcile/reconciler";
import { capture } from "./fixtures/kernel/replay-runner";
import { goldenProgram, program } from "./fixtures/programs";

const firewall = goldenProgram("firewall-branch-firewall");
const table = firewall.spec.nftables!.table;

function withRuleset(name: string, tableName: string, ruleset: string) {
  return program(name, { nftables: { table: tableName, ruleset } });
}

describe("desired nftables state", () => {
  it("takes the table of every program that has one, with its family from the ruleset", () => {
    const others = ["qos-default-qos-policy", "routing-application-routing", "fastpath-branch-fast-path"].map(
      goldenProgram,
    );
    const desired = desiredNftables([...others, firewall]);
    expect(desired.tables.map((t) => [t.program, t.family, t.name])).toEqual([
      ["firewall-branch-firewall", "inet", table],
    ]);
    expect(desired.tables[0].rulesetHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses two programs claiming one table, naming both and the path", () => {
    const twin = withRuleset("firewall-twin", table, firewall.spec.nftables!.ruleset);
    expect(() => desiredNftables([firewall, twin])).toThrow(ConflictError);
    try {
      desiredNftables([firewall, twin]);
    } catch (error) {
      expect((error as ConflictError).path).toBe("spec.nftables.table");
      expect((error as Error).message).toContain("firewall-branch-firewall and firewall-twin");
    }
  });

  it.each([
    [
      "another program's table",
      "table inet fos1_other {\n}\n",
      /exactly its own table fos1_mine.*inet fos1_other/,
    ],
    [
      "a second table",
      "table inet fos1_mine {\n}\ntable ip fos1_mine2 {\n}\n",
      /declares inet fos1_mine, ip fos1_mine2/,
    ],
    ["flush ruleset", "flush ruleset\ntable inet fos1_mine {\n}\n", /only table blocks.*"flush ruleset"/],
    [
      "a delete of someone's table",
      "table inet fos1_mine {\n}\ndelete table ip nat\n",
      /"delete table ip nat"/,
    ],
    ["an include", 'include "/etc/nftables.conf"\n', /"include "\/etc\/nftables.conf""/],
    ["an unknown family", "table foo fos1_mine {\n}\n", /table <family> <name>/],
    ["unbalanced braces", "table inet fos1_mine {\n", /unbalanced/],
  ])("refuses a ruleset with %s", (_what, ruleset, message) => {
    expect(() => desiredNftables([withRuleset("mine", "fos1_mine", ruleset)])).toThrow(message);
  });

  it("reads table headers past braces and hashes inside strings and comments, and allows defines", () => {
    const ruleset = [
      "define LAN = 10.10.0.0/16",
      "# table ip not_this {",
      "table ip fos1_mine {",
      '\tcomment "a } brace { in a comment"',
      "\tchain c { type filter hook input priority 0; ip saddr $LAN accept }",
      "}",
    ].join("\n");
    expect(rulesetTables(ruleset)).toEqual([{ family: "ip", name: "fos1_mine" }]);
  });
});

describe("nftables drift", () => {
  const desired = desiredNftables([firewall]);
  const listing = listingLines(capture("nft-list-table-firewall-terse.txt"));
  const actual = (lines: string[]): NftActual => ({ tables: [{ family: "inet", name: table, lines }] });

  it("finds none where the kernel's listing (captured, with blocks in its sets) matches the compiled ruleset", () => {
    expect(diffTable(desired.tables[0], actual(listing), desired.tables[0].lines)).toBeUndefined();
  });

  it("reports a missing table at spec.nftables.table", () => {
    expect(diffTable(desired.tables[0], { tables: [] }, desired.tables[0].lines)).toEqual({
      program: "firewall-branch-firewall",
      path: "spec.nftables.table",
      expected: `inet ${table}`,
      actual: null,
    });
  });

  it("reports a deleted rule and an added rule as lines of spec.nftables.ruleset", () => {
    const dropped = listing.filter((l) => !l.includes('comment "fos1 block_dst_v4"'));
    const tampered = [...dropped.slice(0, -1), "ip saddr 192.0.2.1 accept", "}"];
    const drift = diffTable(desired.tables[0], actual(tampered), desired.tables[0].lines)!;
    expect(drift.path).toBe("spec.nftables.ruleset");
    expect(drift.expected).toEqual([
      'ip daddr @block_dst_v4 counter drop comment "fos1 block_dst_v4"',
      'ip daddr @block_dst_v4 counter drop comment "fos1 block_dst_v4"',
    ]);
    expect(drift.actual).toEqual(["ip saddr 192.0.2.1 accept"]);
  });

  it("reports reordered rules with the whole listing", () => {
    const swapped = [...listing];
    const i = swapped.findIndex((l) => l.startsWith("ip saddr @block_src_v4"));
    [swapped[i], swapped[i + 1]] = [swapped[i + 1], swapped[i]];
    const drift = diffTable(desired.tables[0], actual(swapped), desired.tables[0].lines)!;
    expect(drift.actual).toEqual(swapped);
  });

  it("compares with the listing the reconciler learned when nft prints a ruleset differently", () => {
    const terse = withRuleset("mine", "fos1_mine", "table ip fos1_mine { set s { type ipv4_addr; } }");
    const [t] = desiredNftables([terse]).tables;
    const printed = ["table ip fos1_mine {", "set s {", "type ipv4_addr", "}", "}"];
    const kernel: NftActual = { tables: [{ family: "ip", name: "fos1_mine", lines: printed }] };
    expect(diffTable(t, kernel, t.lines)).toBeDefined();
    expect(diffTable(t, kernel, printed)).toBeUndefined();
  });

  it("lists fos1 tables no program owns, and only those", () => {
    const kernel: NftActual = {
      tables: [
        { family: "inet", name: table, lines: listing },
        { family: "ip", name: "fos1_lab", lines: [] },
        { family: "ip", name: table, lines: [] },
      ],
    };
    expect(unownedTables(desired, kernel)).toEqual([
      { family: "ip", name: "fos1_lab" },
      { family: "ip", name: table },
    ]);
  });
});

describe("nftables transaction script", () => {
  it("re-creates a table and puts its kept elements back, then deletes unowned tables, in one script", () => {
    const script = nftScript(
      [
        {
          family: "inet",
          name: "fos1_mine",
          ruleset: "table inet fos1_mine {\n}\n",
          elements: new Map([["block_src_v4", ["192.0.2.7 timeout 899s", "192.0.2.8"]]]),
        },
      ],
      [{ family: "ip", name: "fos1_gone" }],
    );
    expect(script).toBe(
      [
        "add table inet fos1_mine",
        "delete table inet fos1_mine",
        "table inet fos1_mine {",
        "}",
        "add element inet fos1_mine block_src_v4 { 192.0.2.7 timeout 899s, 192.0.2.8 }",
        "delete table ip fos1_gone",
        "",
      ].join("\n"),
    );
  });

  it("splits many elements into statements of 512", () => {
    const elements = Array.from({ length: 1100 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    const script = nftScript(
      [
        {
          family: "ip",
          name: "fos1_x",
          ruleset: "table ip fos1_x {\n}",
          elements: new Map([["s", elements]]),
        },
      ],
      [],
    );
    const adds = script.split("\n").filter((l) => l.startsWith("add element"));
    expect(adds.map((l) => l.split(",").length)).toEqual([512, 512, 76]);
  });
});

describe("set declarations", () => {
  it("reads each set's declaration from a listing, without its elements", () => {
    const sets = setDeclarations(listingLines(capture("nft-list-table-firewall-terse.txt")));
    expect(sets.get("block_src_v4")).toBe("type ipv4_addr; flags timeout");
    expect(sets.get("block_flow_v6")).toBe(
      "type ipv6_addr . inet_proto . inet_service . ipv6_addr . inet_service; flags timeout",
    );
    expect(sets.size).toBe(6);
  });

  it("reads one-line and multi-line declarations alike, ignoring declared elements", () => {
    const oneLine = setDeclarations([
      "set s { type ipv4_addr; flags interval,timeout; elements = { 10.0.0.1 } }",
    ]);
    const multi = setDeclarations([
      "set s {",
      "type ipv4_addr",
      "flags interval,timeout",
      "elements = { 10.0.0.1,",
      "10.0.0.2 }",
      "}",
      "set t {",
      "type ipv6_addr",
      "}",
    ]);
    expect(oneLine.get("s")).toBe("type ipv4_addr; flags interval,timeout");
    expect(multi.get("s")).toBe("type ipv4_addr; flags interval,timeout");
    expect(multi.get("t")).toBe("type ipv6_addr");
  });
});
