import { IpReconciler } from "@fos1/dpi/agent/src/reconcile/ip-reconciler";
import { ROUTING_POLICY_YAML, SERVER, TestSite } from "./site";

/**
 * Real flows through the router, routed by the fwmark rules and uplink tables
 * the ip reconciler wrote from a compiled RoutingPolicy. The eBPF program that
 * marks flows on the LAN side is not part of this test: an nft rule in the
 * router's prerouting sets isp2's mark on one destination port instead,
 * which is the same mark the rule matches. The server address exists behind
 * both uplinks, so only the captures tell which way a flow went.
 */
jest.setTimeout(60_000);

const MARKED_PORT = 5301;
const UNMARKED_PORT = 5302;

let site: TestSite;

beforeEach(async () => {
  site = new TestSite(`p${process.pid % 1000}`);
  await site.setup();
  const [routing] = site.compile(ROUTING_POLICY_YAML);
  const ip = new IpReconciler(site.routerRunner());
  await ip.apply(ip.desired([routing]));

  const isp2Table = routing.spec.routes.find((r) => r.dev === site.dev.wan2)!.table;
  const isp2 = routing.spec.ipRules.find((r) => r.table === isp2Table)!;
  const nft = (command: string) => site.exec(site.ns.router, "nft", [command]);
  await nft("add table ip akmark");
  await nft("add chain ip akmark pre { type filter hook prerouting priority mangle ; }");
  await nft(`add rule ip akmark pre tcp dport ${MARKED_PORT} meta mark set 0x${isp2.fwmark.toString(16)}`);
  for (const ns of [site.ns.isp1, site.ns.isp2]) {
    for (const port of [MARKED_PORT, UNMARKED_PORT]) await site.iperfServer(ns, port);
  }
}, 60_000);

afterEach(() => site.teardown());

/** Destination ports of the connections (SYNs to the server) a capture saw. */
const synPorts = (lines: readonly string[]) =>
  new Set(
    lines.map((l) => new RegExp(`> ${SERVER.replace(/\./g, "\\.")}\\.(\\d+):`).exec(l)?.[1]).filter(Boolean),
  );

it("a flow marked for isp2 leaves through isp2, an unmarked flow through isp1", async () => {
  const filter = `tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0 and dst host ${SERVER}`;
  const isp1 = await site.capture(site.ns.isp1, site.dev.up1, filter);
  const isp2 = await site.capture(site.ns.isp2, site.dev.up2, filter);

  // Both flows complete: the replies of the isp2 flow find their way back through the router too.
  expect(await site.iperf(MARKED_PORT, 1, ["-b", "5M"])).toBeGreaterThan(1e6);
  expect(await site.iperf(UNMARKED_PORT, 1, ["-b", "5M"])).toBeGreaterThan(1e6);

  const [seenIsp1, seenIsp2] = [synPorts(await isp1.stop()), synPorts(await isp2.stop())];
  expect([...seenIsp2]).toEqual([String(MARKED_PORT)]);
  expect([...seenIsp1]).toEqual([String(UNMARKED_PORT)]);
});
