import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLabNetwork, destroyLabNetwork, labNamespaces } from "@fos1/dpi/cli/lab/network";
import { planLab } from "@fos1/dpi/cli/lab/topology";
import { loadYamlDocuments, type Site } from "@fos1/dpi/sdk/schema";

/** The lab's network on the real kernel: reachability, isolation from the host, complete teardown. */
const root = join(__dirname, "..", "..");
const site = loadYamlDocuments(readFileSync(join(root, "examples/lab/site.yaml"), "utf8"), "site.yaml")
  .documents[0].document as Site;
const prefix = `ln${process.pid % 1000}`;
const topology = planLab(site, prefix, "fos1-mirror");
const inNs = (ns: string, cmd: string, args: string[]) =>
  execFileSync("ip", ["netns", "exec", ns, cmd, ...args], { encoding: "utf8" });
const hostLinks = () =>
  (JSON.parse(execFileSync("ip", ["-j", "link"], { encoding: "utf8" })) as { ifname: string }[])
    .map((l) => l.ifname)
    .sort();

let before: string[];
beforeAll(() => {
  before = hostLinks();
  createLabNetwork(topology);
});
afterAll(() => destroyLabNetwork(prefix));

it("builds every namespace and adds nothing to the host's namespace", () => {
  expect(labNamespaces(prefix).sort()).toEqual([...topology.namespaces].sort());
  expect(hostLinks()).toEqual(before);
});

it("LAN hosts reach the router, and any internet address is answered behind the default uplink", () => {
  const client = topology.hosts.find((h) => h.name === "client")!;
  const guest = topology.hosts.find((h) => h.name === "guest")!;
  inNs(client.ns, "ping", ["-c1", "-W2", "10.10.0.1"]);
  inNs(guest.ns, "ping", ["-c1", "-W2", client.address]);
  inNs(client.ns, "ping", ["-6", "-c1", "-W2", "fd00:10::1"]);
  // 198.18.0.77 (RFC 2544 benchmarking range) is nobody's: isp1, the default uplink, plays the internet and answers for it.
  const out = inNs(client.ns, "ping", ["-c1", "-W2", "198.18.0.77"]);
  expect(out).toMatch(/1 received/);
  const counters = JSON.parse(
    execFileSync("ip", ["-n", topology.uplinks.isp1, "-j", "-s", "link", "show", "eth0"], {
      encoding: "utf8",
    }),
  )[0];
  expect(counters.stats64.rx.packets).toBeGreaterThan(0);
});

it("lab down removes everything the lab made", () => {
  expect(destroyLabNetwork(prefix).length).toBe(topology.namespaces.length);
  expect(labNamespaces(prefix)).toEqual([]);
  expect(hostLinks()).toEqual(before);
  createLabNetwork(topology);
  expect(labNamespaces(prefix).length).toBe(topology.namespaces.length);
});
