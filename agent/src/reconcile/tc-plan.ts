import type { NodeProgram, TcClass, TcDevice } from "../../../sdk/compile/node-program";
import { canonicalHandle, type TcClassState, type TcQdisc } from "../kernel/tc";
import { sameTcRate } from "../kernel/tc-rate";
import { ConflictError, type ProgramDrift } from "./reconciler";

/**
 * fos1's root HTB qdiscs carry this r2q. Every class is given an explicit
 * quantum, so r2q changes nothing in the tree; it only lets the agent tell
 * its own trees from anyone else's, on devices no program owns any more.
 */
export const FOS1_HTB_R2Q = 0xf051;

export function isFos1Root(qdisc: TcQdisc | undefined): boolean {
  return qdisc?.root === true && qdisc.kind === "htb" && qdisc.options?.r2q === FOS1_HTB_R2Q;
}

export interface DesiredTcDevice {
  readonly program: string;
  /** Position in the program's `spec.tc`, for drift paths. */
  readonly index: number;
  readonly spec: TcDevice;
}

export interface TcDesired {
  readonly devices: readonly DesiredTcDevice[];
}

export interface ActualTcDevice {
  readonly device: string;
  readonly root?: TcQdisc;
  /** The root is an HTB fos1 made (recognised by FOS1_HTB_R2Q). */
  readonly ours: boolean;
  /** Read only where the root is ours. */
  readonly classes: readonly TcClassState[];
  /** Qdiscs under classes (leaf qdiscs). */
  readonly children: readonly TcQdisc[];
}

export interface TcActual {
  /** The leaf qdisc this kernel can hold: fq_codel, or the fallback where it lacks fq_codel. */
  readonly leafQdisc: string;
  /** Every device of the node, by name. */
  readonly devices: ReadonlyMap<string, ActualTcDevice>;
}

/** Each device's HTB tree, owned by exactly one program. */
export function desiredTc(programs: readonly NodeProgram[]): TcDesired {
  const owners = new Map<string, string>();
  const devices: DesiredTcDevice[] = [];
  for (const program of programs) {
    const name = program.metadata.name;
    program.spec.tc.forEach((spec, index) => {
      const owner = owners.get(spec.device);
      if (owner !== undefined) {
        throw new ConflictError(
          `spec.tc[${index}].device`,
          `programs ${owner} and ${name} both claim the HTB tree of device ${spec.device}`,
        );
      }
      owners.set(spec.device, name);
      checkTree(spec, index);
      devices.push({ program: name, index, spec });
    });
  }
  return { devices };
}

/** The qdisc handle a tree hangs from: the major of its classes (`1:`). */
export function rootHandle(spec: TcDevice): string {
  return `${canonicalHandle(spec.defaultClass).split(":")[0]}:`;
}

/** A tree the kernel can build: one major, parents before use, the default class a leaf of it. */
function checkTree(spec: TcDevice, index: number): void {
  const at = `spec.tc[${index}]`;
  const root = rootHandle(spec);
  const ids = new Set<string>();
  spec.classes.forEach((c, j) => {
    const id = canonicalHandle(c.classid);
    if (!id.startsWith(root) || id === root) {
      throw new Error(`${at}.classes[${j}].classid: ${c.classid} is not a class of qdisc ${root}`);
    }
    if (ids.has(id)) throw new Error(`${at}.classes[${j}].classid: ${c.classid} appears twice`);
    ids.add(id);
  });
  spec.classes.forEach((c, j) => {
    const parent = canonicalHandle(c.parent);
    if (parent !== root && !ids.has(parent)) {
      throw new Error(`${at}.classes[${j}].parent: ${c.parent} is neither ${root} nor a class of this tree`);
    }
  });
  if (depths(spec).size !== spec.classes.length) throw new Error(`${at}.classes: the parents form a cycle`);
  const leaves = leafIds(spec);
  if (!leaves.has(canonicalHandle(spec.defaultClass))) {
    throw new Error(`${at}.defaultClass: ${spec.defaultClass} is not a leaf class of this tree`);
  }
}

/** Class id -> distance from the root qdisc; classes on a cycle never get one. */
function depths(spec: TcDevice): Map<string, number> {
  const root = rootHandle(spec);
  const depth = new Map<string, number>([[root, 0]]);
  for (let round = 0; round < spec.classes.length; round++) {
    for (const c of spec.classes) {
      const parentDepth = depth.get(canonicalHandle(c.parent));
      if (parentDepth !== undefined) depth.set(canonicalHandle(c.classid), parentDepth + 1);
    }
  }
  depth.delete(root);
  return depth;
}

function leafIds(spec: TcDevice): Set<string> {
  const parents = new Set(spec.classes.map((c) => canonicalHandle(c.parent)));
  return new Set(spec.classes.map((c) => canonicalHandle(c.classid)).filter((id) => !parents.has(id)));
}

export interface DeviceComparison {
  readonly drift: ProgramDrift[];
  /** Root, default class, class ids/parents or leaf qdiscs differ: the tree is rebuilt. */
  readonly reshape: boolean;
  /** Classes whose rate, ceil, prio or quantum differ: changed in place. */
  readonly changed: readonly TcClass[];
}

/** Where a device's tree differs from what its program asks, and what it takes to fix it. */
export function compareDevice(d: DesiredTcDevice, actual: TcActual): DeviceComparison {
  const at = `spec.tc[${d.index}]`;
  const { program, spec } = d;
  const device = actual.devices.get(spec.device);
  if (!device?.ours || device.root?.handle !== rootHandle(spec)) {
    const found = device?.root ? `${device.root.kind} ${device.root.handle}` : "no such device";
    return {
      drift: [{ program, path: at, expected: `htb ${rootHandle(spec)} on ${spec.device}`, actual: found }],
      reshape: true,
      changed: [],
    };
  }
  const drift: ProgramDrift[] = [];
  let reshape = false;
  const defaultMinor = canonicalHandle(spec.defaultClass).split(":")[1];
  const actualDefault = parseInt(device.root?.options?.default ?? "0", 16).toString(16);
  if (actualDefault !== defaultMinor) {
    drift.push({ program, path: `${at}.defaultClass`, expected: spec.defaultClass, actual: actualDefault });
    reshape = true;
  }
  const leaves = leafIds(spec);
  const byId = new Map(device.classes.map((c) => [c.classid, c]));
  const changed: TcClass[] = [];
  spec.classes.forEach((want, j) => {
    const path = `${at}.classes[${j}]`;
    const id = canonicalHandle(want.classid);
    const have = byId.get(id);
    if (!have) {
      drift.push({ program, path, expected: want.classid, actual: null });
      reshape = true;
      return;
    }
    if (have.parent !== canonicalHandle(want.parent)) {
      drift.push({ program, path: `${path}.parent`, expected: want.parent, actual: have.parent });
      reshape = true;
    }
    const fields: ProgramDrift[] = [];
    if (have.rateBps === undefined || !sameTcRate(want.rateBps, have.rateBps)) {
      fields.push({ program, path: `${path}.rateBps`, expected: want.rateBps, actual: have.rateBps ?? null });
    }
    if (have.ceilBps === undefined || !sameTcRate(want.ceilBps, have.ceilBps)) {
      fields.push({ program, path: `${path}.ceilBps`, expected: want.ceilBps, actual: have.ceilBps ?? null });
    }
    // HTB reports prio and quantum for leaves only; on inner classes they have no effect.
    if (leaves.has(id) && have.prio !== want.prio) {
      fields.push({ program, path: `${path}.prio`, expected: want.prio, actual: have.prio ?? null });
    }
    if (leaves.has(id) && have.quantum !== want.quantum) {
      fields.push({ program, path: `${path}.quantum`, expected: want.quantum, actual: have.quantum ?? null });
    }
    drift.push(...fields);
    if (fields.length > 0) changed.push(want);
    if (leaves.has(id)) {
      const leaf = device.children.find((q) => q.parent === id);
      if (leaf?.kind !== actual.leafQdisc) {
        drift.push({
          program,
          path: `${at}.leafQdisc`,
          expected: actual.leafQdisc,
          actual: leaf?.kind ?? null,
        });
        reshape = true;
      }
    }
  });
  const wanted = new Set(spec.classes.map((c) => canonicalHandle(c.classid)));
  for (const extra of device.classes.filter((c) => !wanted.has(c.classid))) {
    drift.push({ program, path: `${at}.classes`, expected: null, actual: extra.classid });
    reshape = true;
  }
  return { drift, reshape, changed };
}

const htbParams = (c: TcClass) =>
  `htb rate ${c.rateBps}bit ceil ${c.ceilBps}bit prio ${c.prio} quantum ${c.quantum}`;

/** tc commands that build a device's tree from scratch, parents before children, a leaf qdisc under every leaf. */
export function buildCommands(
  spec: TcDevice,
  current: ActualTcDevice | undefined,
  leafQdisc: string,
): string[] {
  const dev = spec.device;
  const lines: string[] = [];
  // A default root (noqueue, pfifo_fast, mq) has handle 0: and cannot be deleted; anything else is replaced whole.
  if (current?.root && current.root.handle !== "0:") lines.push(`qdisc del dev ${dev} root`);
  const defaultMinor = canonicalHandle(spec.defaultClass).split(":")[1];
  lines.push(
    `qdisc add dev ${dev} root handle ${rootHandle(spec)} htb default ${defaultMinor} r2q ${FOS1_HTB_R2Q}`,
  );
  const depth = depths(spec);
  const ordered = [...spec.classes].sort(
    (a, b) => depth.get(canonicalHandle(a.classid))! - depth.get(canonicalHandle(b.classid))!,
  );
  for (const c of ordered) {
    lines.push(
      `class add dev ${dev} parent ${canonicalHandle(c.parent)} classid ${canonicalHandle(c.classid)} ${htbParams(c)}`,
    );
  }
  const leaves = leafIds(spec);
  for (const c of ordered) {
    const id = canonicalHandle(c.classid);
    if (leaves.has(id)) lines.push(`qdisc add dev ${dev} parent ${id} ${leafQdisc}`);
  }
  return lines;
}

/** `tc class change` for classes whose parameters alone differ: the tree and its queues stay in place. */
export function changeCommands(spec: TcDevice, changed: readonly TcClass[]): string[] {
  return changed.map(
    (c) =>
      `class change dev ${spec.device} parent ${canonicalHandle(c.parent)} classid ${canonicalHandle(c.classid)} ${htbParams(c)}`,
  );
}

/** Devices holding a fos1 tree that no program asks for any more. */
export function unownedDevices(desired: TcDesired, actual: TcActual): string[] {
  const owned = new Set(desired.devices.map((d) => d.spec.device));
  return [...actual.devices.values()].filter((d) => d.ours && !owned.has(d.device)).map((d) => d.device);
}
