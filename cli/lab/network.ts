import { execFileSync } from "node:child_process";
import type { LabTopology } from "./topology";

function ip(args: readonly string[], input?: string): string {
  try {
    return execFileSync("ip", args, {
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
      ...(input === undefined ? {} : { input }),
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(" ")}: ${(err.stderr ?? err.message).trim()}`);
  }
}

/** Namespaces whose names start with `<prefix>-`: everything a lab with that prefix made. */
export function labNamespaces(prefix: string): string[] {
  const listed = JSON.parse(ip(["-j", "netns", "list"]) || "[]") as { name: string }[];
  return listed.map((n) => n.name).filter((n) => n.startsWith(`${prefix}-`));
}

/**
 * Creates the lab's namespaces and links. Every veth end is created directly
 * in its namespace, so nothing ever appears in the host's. On failure what was
 * made is removed before the error is thrown: no half-built lab stays behind.
 */
export function createLabNetwork(t: LabTopology): void {
  if (labNamespaces(t.prefix).length > 0)
    throw new Error(`a lab with prefix "${t.prefix}" exists: run lab down first`);
  try {
    for (const ns of t.namespaces) {
      ip(["netns", "add", ns]);
      ip(["-n", ns, "link", "set", "lo", "up"]);
    }
    const batches = new Map<string, string[]>();
    const batch = (ns: string, line: string) => batches.set(ns, [...(batches.get(ns) ?? []), line]);
    for (const { a, b } of t.links) {
      ip(["link", "add", a.dev, "netns", a.ns, "type", "veth", "peer", "name", b.dev, "netns", b.ns]);
      for (const end of [a, b]) {
        for (const address of end.addresses)
          batch(end.ns, `addr add ${address} dev ${end.dev}${address.includes(":") ? " nodad" : ""}`);
      }
    }
    batch(t.bridge.ns, `link add ${t.bridge.name} type bridge`);
    for (const port of t.bridge.ports) batch(t.bridge.ns, `link set ${port} master ${t.bridge.name}`);
    batch(t.bridge.ns, `link set ${t.bridge.name} up`);
    for (const { a, b } of t.links) for (const end of [a, b]) batch(end.ns, `link set ${end.dev} up`);
    for (const [ns, lines] of batches) ip(["-n", ns, "-batch", "-"], lines.join("\n") + "\n");
    for (const s of t.sysctls)
      execFileSync("ip", ["netns", "exec", s.ns, "sysctl", "-qw", `${s.key}=${s.value}`]);
    for (const r of t.routes) {
      const args =
        r.type === "local"
          ? ["route", "add", "local", r.to, "dev", r.dev!]
          : ["route", "add", r.to, ...(r.via ? ["via", r.via] : []), ...(r.dev ? ["dev", r.dev] : [])];
      ip(["-n", r.ns, ...(r.to.includes(":") ? ["-6"] : []), ...args]);
    }
  } catch (error) {
    destroyLabNetwork(t.prefix);
    throw error;
  }
}

/** Removes every namespace of the prefix, and with them every interface, route, nft table and qdisc in them. */
export function destroyLabNetwork(prefix: string): string[] {
  const removed = labNamespaces(prefix);
  for (const ns of removed) ip(["netns", "del", ns]);
  return removed;
}
