import type { NodeProgram } from "../../../sdk/compile/node-program";
import type { CommandRunner } from "../kernel/command";
import { ipBatch, listLinks, listRoutes, listRules } from "../kernel/ip";
import {
  FOS1_RT_PROTO,
  IP_FAMILIES,
  desiredIp,
  diffIp,
  ipCommands,
  type IpActual,
  type IpDesired,
} from "./ip-plan";
import type { ProgramDrift, Reconciler } from "./reconciler";

/**
 * Policy routing: an fwmark rule and a default route per uplink table. Every
 * rule and route is written with protocol FOS1_RT_PROTO, so reading back shows
 * only fos1's and anything else on the node is never touched. A change is one
 * `ip -batch -` per address family; every route's device must exist first.
 */
export class IpReconciler implements Reconciler<IpDesired, IpActual> {
  readonly subsystem = "ip" as const;

  constructor(private readonly runner: CommandRunner) {}

  desired(programs: readonly NodeProgram[]): IpDesired {
    return desiredIp(programs);
  }

  /** Rules and routes of both families, the four listings run side by side. */
  async read(): Promise<IpActual> {
    const [rules, routes] = await Promise.all([
      Promise.all(IP_FAMILIES.map((family) => listRules(this.runner, family))),
      Promise.all(IP_FAMILIES.map((family) => listRoutes(this.runner, family, FOS1_RT_PROTO))),
    ]);
    return { rules: rules.flat().filter((r) => r.protocol === FOS1_RT_PROTO), routes: routes.flat() };
  }

  diff(desired: IpDesired, actual: IpActual): ProgramDrift[] {
    return diffIp(desired, actual);
  }

  async apply(desired: IpDesired, read?: IpActual): Promise<number> {
    const actual = read ?? (await this.read());
    const batches = IP_FAMILIES.map((family) => ({
      family,
      lines: ipCommands(desired, actual, family),
    })).filter((b) => b.lines.length > 0);
    if (batches.length === 0) return 0;
    const links = new Set(await listLinks(this.runner));
    const missing = desired.routes.filter((r) => !links.has(r.route.dev));
    if (missing.length > 0) {
      throw new Error(
        missing
          .map((r) => `${r.program}: spec.routes[${r.index}].dev: no device "${r.route.dev}" on this node`)
          .join("; "),
      );
    }
    let writes = 0;
    for (const { family, lines } of batches) {
      await ipBatch(this.runner, family, lines);
      writes += lines.length;
    }
    return writes;
  }
}
