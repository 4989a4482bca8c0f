import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

/**
 * Network namespaces for data-plane tests and benchmarks. Everything a lab
 * makes carries its prefix, lives only inside its own namespaces (veth ends
 * are created directly in them, so nothing touches the host's namespace), and
 * goes away in teardown(), which is safe to call after a failure.
 *
 *   const lab = new NetnsLab("fb");
 *   try {
 *     const a = lab.namespace("a"), b = lab.namespace("b");
 *     lab.veth({ ns: a, name: "fb-a0" }, { ns: b, name: "fb-b0" });
 *     lab.exec(a, "ip", ["addr", "add", "10.0.0.1/24", "dev", "fb-a0"]);
 *   } finally {
 *     lab.teardown();
 *   }
 */
export class NetnsLab {
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];

  /** prefix: the short prefix of the component that owns the lab (`fb`, ...). */
  constructor(readonly prefix: string) {
    if (!/^[a-z][a-z0-9]{0,4}$/.test(prefix)) {
      throw new Error(
        `NetnsLab prefix ${JSON.stringify(prefix)}: 1-5 lower-case letters/digits, starting with a letter`,
      );
    }
  }

  /** Creates `<prefix>-<name>-<pid>` with loopback up; returns its name. */
  namespace(name: string): string {
    const ns = `${this.prefix}-${name}-${process.pid}`;
    execFileSync("ip", ["netns", "add", ns]);
    this.namespaces.push(ns);
    this.exec(ns, "ip", ["link", "set", "lo", "up"]);
    return ns;
  }

  /** A veth pair between two of this lab's namespaces, both ends up. Names must start with the prefix. */
  veth(a: { ns: string; name: string; mac?: string }, b: { ns: string; name: string; mac?: string }): void {
    for (const end of [a, b]) {
      if (!this.namespaces.includes(end.ns))
        throw new Error(`veth ${end.name}: ${end.ns} is not a namespace of this lab`);
      if (!end.name.startsWith(this.prefix) || end.name.length > 15) {
        throw new Error(`veth ${end.name}: names start with ${this.prefix} and have at most 15 characters`);
      }
    }
    const mac = (m?: string) => (m ? ["address", m] : []);
    execFileSync("ip", [
      "link",
      "add",
      a.name,
      "netns",
      a.ns,
      ...mac(a.mac),
      "type",
      "veth",
      "peer",
      "name",
      b.name,
      "netns",
      b.ns,
      ...mac(b.mac),
    ]);
    this.exec(a.ns, "ip", ["link", "set", a.name, "up"]);
    this.exec(b.ns, "ip", ["link", "set", b.name, "up"]);
  }

  /** Runs a command inside ns and returns its stdout; throws with stderr on failure. */
  exec(ns: string, cmd: string, args: readonly string[], input?: string): string {
    try {
      return execFileSync("ip", ["netns", "exec", ns, cmd, ...args], {
        encoding: "utf8",
        stdio: ["pipe", "pipe", "pipe"],
        ...(input === undefined ? {} : { input }),
      });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${ns}: ${cmd} ${args.join(" ")}: ${(err.stderr ?? err.message).trim()}`);
    }
  }

  /** Starts a long-running command inside ns; teardown() kills it. */
  spawn(ns: string, cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn("ip", ["netns", "exec", ns, cmd, ...args], { stdio: "ignore", ...options });
    this.children.push(child);
    return child;
  }

  /** Kills what spawn() started and deletes every namespace (and with them their interfaces). */
  teardown(): void {
    for (const child of this.children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    for (const ns of this.namespaces.splice(0).reverse()) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // Already gone: nothing left to remove.
      }
    }
  }
}
