import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Logger } from "../log";

const SYSCTL = "/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal";

/**
 * Offloaded TCP flows bypass conntrack between their set-up and tear-down, so
 * conntrack's window tracking would call their FIN out of window and a
 * stateful ruleset would drop it as invalid. Kernel flowtables relax the
 * check for the same reason; while a fast-path policy is active the agent
 * does so too, and puts back what it found once none is.
 */
export class ConntrackLiberal {
  private found: string | undefined;

  constructor(
    private readonly log: Logger,
    private readonly path = SYSCTL,
  ) {}

  /** Called with whether some program opts flows into the fast path; writes only on change. */
  sync(fastPath: boolean): void {
    // Without conntrack loaded there is nothing to relax.
    if (!existsSync(this.path)) return;
    const now = readFileSync(this.path, "utf8").trim();
    if (fastPath && now !== "1") {
      this.found ??= now;
      writeFileSync(this.path, "1");
      this.log.info("conntrack TCP window checks relaxed for offloaded flows", { sysctl: this.path });
    } else if (!fastPath && this.found !== undefined) {
      if (now !== this.found) writeFileSync(this.path, this.found);
      this.log.info("conntrack TCP window checks restored", { sysctl: this.path, value: this.found });
      this.found = undefined;
    }
  }
}
