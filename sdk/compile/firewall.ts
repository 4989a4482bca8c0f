import { resolveApplications } from "../apps";
import type { FirewallPolicy } from "../schema/firewall-policy";
import type { Site } from "../schema/site";
import { appControlRule } from "../decide/app-control";
import type { MapEntry, RuntimeTables } from "./node-program";
import { segmentIds } from "./routing";

/** The nftables table a program owns: `fos1_` and the program name with '-' as '_'. */
export function nftTableName(programName: string): string {
  return `fos1_${programName.replace(/-/g, "_")}`;
}

/** Sets the agent fills with blocks at run time; their elements are runtime state, never policy drift. */
export const BLOCK_SETS = [
  { set: "block_src_v4", type: "ipv4_addr", match: "ip saddr" },
  { set: "block_src_v6", type: "ipv6_addr", match: "ip6 saddr" },
  { set: "block_dst_v4", type: "ipv4_addr", match: "ip daddr" },
  { set: "block_dst_v6", type: "ipv6_addr", match: "ip6 daddr" },
  {
    set: "block_flow_v4",
    type: "ipv4_addr . inet_proto . inet_service . ipv4_addr . inet_service",
    match: "ip saddr . meta l4proto . th sport . ip daddr . th dport",
  },
  {
    set: "block_flow_v6",
    type: "ipv6_addr . inet_proto . inet_service . ipv6_addr . inet_service",
    match: "ip6 saddr . meta l4proto . th sport . ip6 daddr . th dport",
  },
] as const;

/**
 * The slow path's half of enforcement: timeout sets for blocks, matched in
 * forward (through the router) and input (to the router itself) before any
 * site rule (priority filter - 10). The eBPF block maps drop the same traffic
 * earlier where programs are attached; these sets also cover traffic that
 * never crosses an attached interface. A flow block is stored in both
 * directions by the agent, so one lookup per packet suffices.
 */
export function compileNftRuleset(programName: string): { table: string; ruleset: string } {
  const table = nftTableName(programName);
  const lines: string[] = [`table inet ${table} {`, `\tcomment "fos1-dpi program ${programName}"`];
  for (const s of BLOCK_SETS) {
    lines.push(`\tset ${s.set} {`, `\t\ttype ${s.type}`, "\t\tflags timeout", "\t}");
  }
  for (const [chain, hook] of [
    ["forward", "forward"],
    ["input", "input"],
  ]) {
    lines.push(`\tchain ${chain} {`, `\t\ttype filter hook ${hook} priority filter - 10; policy accept;`);
    for (const s of BLOCK_SETS) lines.push(`\t\t${s.match} @${s.set} counter drop comment "fos1 ${s.set}"`);
    lines.push("\t}");
  }
  lines.push("}", "");
  return { table, ruleset: lines.join("\n") };
}

export function compileFirewallRuntime(
  policy: FirewallPolicy,
  site: Site,
): NonNullable<RuntimeTables["firewall"]> {
  const segments = segmentIds(site);
  return {
    riskThreshold: policy.spec.blocks.riskThreshold,
    blockScope: policy.spec.blocks.scope,
    blockTtlMs: policy.spec.blocks.ttl,
    appControl: policy.spec.applicationControl.map((rule) => ({
      rule: rule.name,
      action: rule.action,
      apps: [
        ...new Map(rule.applications.flatMap((n) => resolveApplications(n) ?? []).map((a) => [a.id, a.name])),
      ]
        .sort(([a], [b]) => a - b)
        .map(([appId, app]) => ({ app, appId })),
      ...(rule.networkSegments ? { segmentIds: rule.networkSegments.map((n) => segments.get(n) ?? 0) } : {}),
    })),
  };
}

/**
 * `fos1_app_deny`: every (source segment, application) that application
 * control denies, with first-match already resolved (an allow rule before a
 * deny leaves its segment out), so the kernel looks up one exact key when the
 * destination cache names a flow's application at its first packet.
 */
export function compileAppDeny(firewall: NonNullable<RuntimeTables["firewall"]>, site: Site): MapEntry[] {
  const segments: [number, string][] = [
    [0, "no segment"],
    ...[...segmentIds(site)].map(([n, id]) => [id, `segment ${n}`] as [number, string]),
  ];
  const apps = new Map(firewall.appControl.flatMap((r) => r.apps.map((a) => [a.appId, a.app] as const)));
  const entries: MapEntry[] = [];
  for (const [segmentId, where] of segments) {
    for (const [appId, app] of [...apps].sort(([a], [b]) => a - b)) {
      const rule = appControlRule(firewall, segmentId, appId);
      if (rule?.action !== "deny") continue;
      entries.push({
        key: { segment_id: segmentId, app_id: appId },
        value: { rule: firewall.appControl.indexOf(rule) + 1 },
        note: `deny ${app} from ${where} (${rule.rule})`,
      });
    }
  }
  return entries;
}
