import { resolveApplications } from "../apps";
import type { FastPathPolicy } from "../schema/fast-path-policy";
import { APP_NEVER_OFFLOAD, APP_OFFLOAD_ALLOWED, MAP_NAMES as MAP } from "../abi/constants";
import type { ConfigSettings, MapEntry, RuntimeTables } from "./node-program";

const NS_PER_MS = 1_000_000;

function appsOf(names: readonly string[] | undefined): { app: string; appId: number }[] {
  const apps = new Map<string, number>();
  for (const n of names ?? []) for (const app of resolveApplications(n) ?? []) apps.set(app.name, app.id);
  return [...apps].map(([app, appId]) => ({ app, appId })).sort((a, b) => a.appId - b.appId);
}

function prefixEntries(prefixes: readonly { prefix: string; id: number; note: string }[]): MapEntry[] {
  return prefixes
    .map((p) => ({ key: { prefix: p.prefix }, value: { id: p.id }, note: p.note }))
    .sort((a, b) => String(a.key.prefix).localeCompare(String(b.key.prefix)));
}

/**
 * The fast path is default-deny: only applications an offload rule names get
 * OFFLOAD_ALLOWED, and NEVER_OFFLOAD (sensitive, TLS-inspected) wins over it in
 * the data plane. Critical zones and watch-listed prefixes go to their own maps
 * so the data plane can refuse an offload without asking the agent.
 */
export function compileFastPath(policy: FastPathPolicy): {
  maps: Record<string, MapEntry[]>;
  config: ConfigSettings;
  runtime: RuntimeTables["fastPath"];
} {
  const spec = policy.spec;
  const flags = new Map<number, { app: string; flags: number }>();
  const mark = (apps: { app: string; appId: number }[], bit: number) => {
    for (const { app, appId } of apps) flags.set(appId, { app, flags: (flags.get(appId)?.flags ?? 0) | bit });
  };
  mark(appsOf(spec.offload.flatMap((r) => r.applications)), APP_OFFLOAD_ALLOWED);
  mark(
    appsOf([...(spec.sensitiveApplications ?? []), ...(spec.tlsInspection?.applications ?? [])]),
    APP_NEVER_OFFLOAD,
  );

  const appPolicy = [...flags]
    .sort(([a], [b]) => a - b)
    .map(([appId, f]) => ({
      key: { app_id: appId },
      value: { flags: f.flags },
      note: `${f.app}: ${f.flags & APP_NEVER_OFFLOAD ? "never offload" : "offload allowed"}`,
    }));

  return {
    maps: {
      [MAP.appPolicy]: appPolicy,
      [MAP.critical]: prefixEntries(
        spec.criticalZones.flatMap((zone, i) =>
          zone.prefixes.map((prefix) => ({ prefix, id: i + 1, note: `critical zone ${zone.name}` })),
        ),
      ),
      [MAP.watch]: prefixEntries(
        spec.watchlists.addresses.map((prefix) => ({ prefix, id: 1, note: "watch list" })),
      ),
    },
    config: { sample_one_in: spec.sampling.oneIn, reinspect_after_ns: spec.reinspectAfter * NS_PER_MS },
    runtime: {
      offload: spec.offload.map((r) => ({
        rule: r.name,
        apps: appsOf(r.applications),
        minInspectedPackets: r.minInspectedPackets,
      })),
      watchDomains: [...spec.watchlists.domains].sort(),
      criticalInterfaces: [...new Set(spec.criticalZones.flatMap((z) => z.interfaces))].sort(),
      ...(spec.underLoad ? { underLoad: spec.underLoad } : {}),
    },
  };
}
