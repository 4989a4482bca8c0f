import { applicationById } from "../apps";
import { APP_NEVER_OFFLOAD, APP_OFFLOAD_ALLOWED, MAP_NAMES as MAP } from "../abi/constants";
import type { NodeProgram, RuntimeTables } from "../compile/node-program";
import { DEFAULT_CLASS_MINOR } from "../compile/qos";
import { PrefixTable } from "./prefix-table";

export interface ClassInfo {
  readonly classId: number;
  readonly name: string;
  readonly dscp: number;
  readonly skbPriority: number;
}

/**
 * Everything the programs of one node say, merged into the tables that runtime
 * decisions read. Built from NodePrograms only, so the agent, the lab and
 * `simulate` decide from exactly what was compiled.
 */
export interface NodePolicy {
  readonly classes: ReadonlyMap<number, ClassInfo>;
  readonly defaultClass?: ClassInfo;
  readonly appClass: ReadonlyMap<number, number>;
  readonly appFlags: ReadonlyMap<number, number>;
  /** `segment/app` -> mark, with 0 for "any", as the eBPF route lookup sees it. */
  readonly routes: ReadonlyMap<string, number>;
  readonly uplinkByMark: ReadonlyMap<number, string>;
  readonly segments: PrefixTable<number>;
  readonly critical: PrefixTable<number>;
  readonly watch: PrefixTable<number>;
  /** Undefined: every workload is inspected. */
  readonly inspectSelect?: PrefixTable<number>;
  readonly sampleOneIn: number;
  readonly reinspectAfterMs: number;
  readonly firewall?: NonNullable<RuntimeTables["firewall"]>;
  readonly fastPath?: NonNullable<RuntimeTables["fastPath"]>;
}

const DEFAULT_SAMPLE_ONE_IN = 64;
const DEFAULT_REINSPECT_MS = 300_000;

/** Merges a node's programs. Later programs do not override earlier ones: the agent refuses such conflicts at PUT. */
export function nodePolicyFrom(programs: readonly NodeProgram[]): NodePolicy {
  const classes = new Map<number, ClassInfo>();
  const appClass = new Map<number, number>();
  const appFlags = new Map<number, number>();
  const routes = new Map<string, number>();
  const uplinkByMark = new Map<number, string>();
  const segments = new PrefixTable<number>();
  const critical = new PrefixTable<number>();
  const watch = new PrefixTable<number>();
  let inspectSelect: PrefixTable<number> | undefined;
  let sampleOneIn = DEFAULT_SAMPLE_ONE_IN;
  let reinspectAfterMs = DEFAULT_REINSPECT_MS;
  let firewall: NodePolicy["firewall"];
  let fastPath: NodePolicy["fastPath"];

  for (const program of programs) {
    const maps = program.spec.maps;
    const num = (v: number | string | undefined) => Number(v ?? 0);
    const classNames = new Map((program.spec.runtime.qos?.classes ?? []).map((c) => [c.classId, c.name]));
    for (const e of maps[MAP.qosClasses] ?? []) {
      const classId = num(e.key.class_id);
      classes.set(classId, {
        classId,
        name: classNames.get(classId) ?? String(classId),
        dscp: num(e.value.dscp),
        skbPriority: num(e.value.skb_priority),
      });
    }
    for (const e of maps[MAP.appPolicy] ?? []) {
      if (e.value.class_id !== undefined) appClass.set(num(e.key.app_id), num(e.value.class_id));
      if (e.value.flags !== undefined) appFlags.set(num(e.key.app_id), num(e.value.flags));
    }
    for (const e of maps[MAP.routePolicy] ?? [])
      routes.set(`${e.key.segment_id}/${e.key.app_id}`, num(e.value.mark));
    for (const e of maps[MAP.segments] ?? []) segments.add(String(e.key.prefix), num(e.value.id));
    for (const e of maps[MAP.critical] ?? []) critical.add(String(e.key.prefix), num(e.value.id));
    for (const e of maps[MAP.watch] ?? []) watch.add(String(e.key.prefix), num(e.value.id));
    for (const u of program.spec.runtime.routing?.uplinks ?? []) uplinkByMark.set(u.mark, u.name);
    const config = program.spec.config;
    if (config.inspect_all === false) {
      inspectSelect = new PrefixTable(
        (maps[MAP.inspectSelect] ?? []).map((e) => [String(e.key.prefix), num(e.value.id)] as const),
      );
    }
    if (config.sample_one_in !== undefined) sampleOneIn = config.sample_one_in;
    if (config.reinspect_after_ns !== undefined) reinspectAfterMs = config.reinspect_after_ns / 1_000_000;
    firewall ??= program.spec.runtime.firewall;
    fastPath ??= program.spec.runtime.fastPath;
  }
  return {
    classes,
    defaultClass: classes.get(DEFAULT_CLASS_MINOR),
    appClass,
    appFlags,
    routes,
    uplinkByMark,
    segments,
    critical,
    watch,
    inspectSelect,
    sampleOneIn,
    reinspectAfterMs,
    firewall,
    fastPath,
  };
}

/** The class an application's flows get: its own, else the default class. */
export function classOf(policy: NodePolicy, appId: number | undefined): ClassInfo | undefined {
  const classId = appId === undefined ? undefined : policy.appClass.get(appId);
  return (classId === undefined ? undefined : policy.classes.get(classId)) ?? policy.defaultClass;
}

export function offloadAllowed(policy: NodePolicy, appId: number): boolean {
  const flags = policy.appFlags.get(appId) ?? 0;
  return (flags & APP_OFFLOAD_ALLOWED) !== 0 && (flags & APP_NEVER_OFFLOAD) === 0;
}

export function appName(appId: number): string {
  return applicationById(appId)?.name ?? `app-${appId}`;
}
