import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PROGRAMS } from "../../sdk/abi/constants";

/** Every program the lab runs, with the Debian package that provides it (scripts/debian-packages.txt lists them all). */
const TOOLS: readonly { readonly command: string; readonly pkg: string }[] = [
  { command: "ip", pkg: "iproute2" },
  { command: "tc", pkg: "iproute2" },
  { command: "nft", pkg: "nftables" },
  { command: "tcpreplay", pkg: "tcpreplay" },
  { command: "tcprewrite", pkg: "tcpreplay" },
  { command: "tcpdump", pkg: "tcpdump" },
  { command: "tshark", pkg: "tshark" },
  { command: "iperf3", pkg: "iperf3" },
  { command: "curl", pkg: "curl" },
  { command: "openssl", pkg: "openssl" },
  { command: "mount", pkg: "mount" },
];

function onPath(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * What is missing for `lab up` on this machine, each with what installs it.
 * Empty when the lab can run.
 */
export function missingPrerequisites(paths: {
  readonly root: string;
  readonly objectsDir: string;
  readonly sensor: string;
  readonly captures: string;
}): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0)
    missing.push("root: the lab makes network namespaces and loads eBPF (run with sudo)");
  const packages = new Set<string>();
  for (const t of TOOLS) if (!onPath(t.command)) packages.add(t.pkg);
  if (packages.size > 0)
    missing.push(`programs from Debian packages ${[...packages].join(", ")}: sudo bash scripts/setup.sh`);
  for (const o of Object.values(PROGRAMS).map((p) => p.object)) {
    if (!existsSync(join(paths.objectsDir, o))) {
      missing.push(`eBPF object ${join(paths.objectsDir, o)}: make -C bpf (scripts/setup.sh does it)`);
      break;
    }
  }
  if (!existsSync(paths.sensor) && !onPath(paths.sensor))
    missing.push(`the nDPI sensor ${paths.sensor}: make -C sensor-images/ndpi (scripts/setup.sh does it)`);
  if (!existsSync(join(paths.root, "node_modules", "tsx")))
    missing.push("npm dependencies (tsx runs the agent from source): npm ci (scripts/setup.sh does it)");
  if (!existsSync(paths.captures))
    missing.push(`the nDPI test captures in ${paths.captures}: set FOS1_TESTDATA to the test-data corpus`);
  return missing;
}
