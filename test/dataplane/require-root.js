// Data-plane tests drive the real kernel. Without root, or without the tools they
// need, they must fail the run loudly instead of being skipped.
const { execFileSync } = require("node:child_process");

module.exports = async () => {
  if (process.getuid && process.getuid() !== 0) {
    throw new Error("data-plane tests need root (network namespaces, eBPF, nftables): run them as root");
  }
  const missing = ["ip", "tc", "nft", "bpftool", "clang"].filter((tool) => {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(
      `data-plane tests need these tools, which are missing: ${missing.join(", ")} (run scripts/setup.sh)`,
    );
  }
};
