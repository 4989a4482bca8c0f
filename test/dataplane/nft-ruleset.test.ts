import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compileSite, isPolicyDocument } from "@fos1/dpi/sdk/compile";
import { loadYamlDocuments, type Site } from "@fos1/dpi/sdk/schema";

/**
 * The compiled nftables ruleset is loaded for real into a namespace of its own
 * (not just checked), read back with `nft -j`, and its sets take timed elements
 * of every shape the agent will add.
 */
const root = join(__dirname, "..", "..");
const ns = `fnft${process.pid}`;
const load = (f: string) =>
  loadYamlDocuments(readFileSync(join(root, "examples", f), "utf8"), f).documents.map((d) => d.document);

function nft(args: string[], input?: string): string {
  return execFileSync("ip", ["netns", "exec", ns, "nft", ...args], { input, encoding: "utf8" });
}

beforeAll(() => execFileSync("ip", ["netns", "add", ns]));
afterAll(() => execFileSync("ip", ["netns", "del", ns]));

it("the firewall program's table loads, and its block sets accept timed elements", () => {
  const site = load("sites/branch.yaml")[0] as Site;
  const { programs } = compileSite(load("policies/fast-path.yaml").filter(isPolicyDocument), site);
  const firewall = programs.find((p) => p.spec.nftables)!.spec.nftables!;

  nft(["-f", "-"], firewall.ruleset);
  nft(
    ["-f", "-"],
    [
      `add element inet ${firewall.table} block_src_v4 { 192.0.2.7 timeout 15m }`,
      `add element inet ${firewall.table} block_dst_v6 { 2001:db8::7 timeout 30s }`,
      `add element inet ${firewall.table} block_flow_v4 { 10.10.1.2 . tcp . 40000 . 198.51.100.9 . 443 timeout 1h }`,
      `add element inet ${firewall.table} block_flow_v6 { fd00:10::2 . udp . 5353 . 2001:db8::9 . 53 timeout 1h }`,
    ].join("\n"),
  );

  const listed = JSON.parse(nft(["-j", "list", "table", "inet", firewall.table])).nftables as Record<
    string,
    { name?: string; hook?: string; elem?: unknown[] }
  >[];
  const chains = listed.flatMap((o) => (o.chain ? [`${o.chain.name}:${o.chain.hook}`] : []));
  expect(chains.sort()).toEqual(["forward:forward", "input:input"]);
  const sets = Object.fromEntries(
    listed.flatMap((o) => (o.set ? [[o.set.name, o.set.elem?.length ?? 0]] : [])),
  );
  expect(sets).toEqual({
    block_src_v4: 1,
    block_src_v6: 0,
    block_dst_v4: 0,
    block_dst_v6: 1,
    block_flow_v4: 1,
    block_flow_v6: 1,
  });
  const rules = listed.filter((o) => o.rule);
  expect(rules).toHaveLength(12);
});
