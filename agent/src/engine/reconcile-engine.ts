import { performance } from "node:perf_hooks";
import type { ApplyResult, ProgramList, ProgramState } from "../../../sdk/agent-api/api";
import { hashMatches, type NodeProgram } from "../../../sdk/compile/node-program";
import type { Logger } from "../log";
import type { AgentMetrics } from "../metrics";
import { ConflictError, type Reconciler, type Subsystem } from "../reconcile/reconciler";
import { SerialQueue } from "../serial-queue";
import type { StagedProgram, StoredProgram } from "../store/program-store";
import { ApplyFailedError, NotReadyError, RejectedError } from "./errors";
import { checkProgram, unsupportedParts, type NodeFacts } from "./program-checks";

/** The order a change is applied in: classification state first, then what acts on it. */
export const SUBSYSTEM_ORDER: readonly Subsystem[] = ["maps", "nftables", "tc", "ip"];

export type Writes = Record<Subsystem, number>;

/** Where programs are kept across restarts; `ProgramStore` on disk, a fake in tests. */
export interface ProgramPersistence {
  load(): Promise<StoredProgram[]>;
  /** Starts writing a program so that `commit` makes it the stored one at once, or `discard` drops it. */
  stage(stored: StoredProgram): StagedProgram;
  remove(name: string): Promise<void>;
}

export interface EngineOptions {
  /** One per wired subsystem, in any order; applied in SUBSYSTEM_ORDER. */
  readonly reconcilers: readonly Reconciler[];
  readonly store: ProgramPersistence;
  readonly facts: NodeFacts;
  readonly metrics: AgentMetrics;
  readonly log: Logger;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** Each subsystem's read of the kernel, started together; a failed read fails that subsystem's apply. */
type Reads = readonly Promise<unknown>[];

/** Kernel reads started before a PUT's body had arrived (`readAhead`). */
export interface ReadAhead {
  readonly reads: Reads;
  /** Tasks started before the reads: the PUT uses them only if its own task is the next. */
  readonly tasks: number;
}

/** A PUT body's program, and whether the body already showed its hash right (the engine checks it otherwise). */
export interface ParsedBody {
  readonly program: NodeProgram;
  readonly hashChecked: boolean;
}

/** What one reconcile pass did. */
export interface ReconcilePass {
  readonly writes: Writes;
  readonly failed: Subsystem[];
}

const noWrites = (): Writes => ({ maps: 0, nftables: 0, tc: 0, ip: 0 });

/**
 * A subsystem's desired state for a new set of programs. The stored programs
 * were applied before, so a failure here is the new program's fault: a
 * conflict stays a ConflictError (409); any other reason (an HTB tree the
 * kernel cannot build) becomes a 400 at the path the reconciler names.
 */
function desiredOf(reconciler: Reconciler, programs: readonly NodeProgram[]): unknown {
  try {
    return reconciler.desired(programs);
  } catch (error) {
    if (error instanceof ConflictError || !(error instanceof Error)) throw error;
    const located = /^(spec[^\s:]*): (.*)$/s.exec(error.message);
    throw new RejectedError(400, `the program cannot be applied to ${reconciler.subsystem}`, [
      located ? { path: located[1], message: located[2] } : { path: "spec", message: error.message },
    ]);
  }
}

/**
 * The node's desired state and the only path to the kernel. Each operation
 * computes every subsystem's desired state from the whole set of programs
 * (ownership lives in the reconcilers' `desired`), applies the subsystems in
 * order, and on a failure re-applies the previous set to every subsystem it
 * touched, so a change is in the kernel entirely or not at all. Operations run
 * one at a time.
 */
export class ReconcileEngine {
  private readonly reconcilers: readonly Reconciler[];
  private readonly programs = new Map<string, StoredProgram>();
  private readonly queue = new SerialQueue();
  private readonly now: () => Date;
  private isReady = false;
  private lastPass?: Date;
  private changes = 0;
  private tasksStarted = 0;

  constructor(private readonly options: EngineOptions) {
    const bySubsystem = new Map(options.reconcilers.map((r) => [r.subsystem, r]));
    if (bySubsystem.size !== options.reconcilers.length) {
      throw new Error("two reconcilers for the same subsystem");
    }
    this.reconcilers = SUBSYSTEM_ORDER.flatMap((s) => bySubsystem.get(s) ?? []);
    this.now = options.now ?? (() => new Date());
  }

  /** True once the stored programs have been re-applied since start. */
  get ready(): boolean {
    return this.isReady;
  }

  /** When the last reconcile pass ended. */
  get lastReconcile(): Date | undefined {
    return this.lastPass;
  }

  get programCount(): number {
    return this.programs.size;
  }

  /** Increments whenever the set of held programs changes; readers of `currentPrograms` cache by it. */
  get revision(): number {
    return this.changes;
  }

  /** True while a PUT, DELETE, GET or reconcile pass runs or waits. */
  get applying(): boolean {
    return !this.queue.idle;
  }

  /** The programs held now, in apply order. Runtime decisions read the node's policy from these. */
  currentPrograms(): readonly NodeProgram[] {
    return this.sortedPrograms();
  }

  get wired(): ReadonlySet<Subsystem> {
    return new Set(this.reconcilers.map((r) => r.subsystem));
  }

  /** Loads the stored programs. The first successful `reconcile()` applies them and makes the engine ready. */
  async restore(): Promise<void> {
    for (const stored of await this.options.store.load()) {
      this.programs.set(stored.program.metadata.name, stored);
    }
    this.changes++;
    this.options.metrics.programs.set(this.programs.size);
    this.options.log.info("stored programs loaded", { programs: [...this.programs.keys()] });
  }

  /**
   * Applies a program (new or replacing the one of that name); rejected before
   * any write if it cannot apply. `body` is the program's JSON as it was
   * PUT; it is stored as it is.
   */
  put(program: NodeProgram, body?: Buffer): Promise<ApplyResult> {
    return this.apply(program.metadata.name, () => ({ program, hashChecked: false }), body);
  }

  /**
   * A PUT of the program named `name` whose body `parse` parses and
   * validates (throwing the client's error), called once the kernel reads
   * have started: the tools fork from this process, and forking costs more
   * after a 100k-entry body became objects.
   */
  putBody(name: string, body: Buffer, parse: () => ParsedBody, ahead?: ReadAhead): Promise<ApplyResult> {
    return this.apply(name, parse, body, ahead);
  }

  /**
   * Starts the kernel reads for a PUT whose body is still arriving, so the
   * tools run (and fork from a smaller process) meanwhile. Undefined when a
   * task is queued or running, which may change the kernel before the PUT's
   * turn; the PUT reads afresh too when any task started in between.
   */
  readAhead(): ReadAhead | undefined {
    if (!this.queue.idle || !this.isReady) return undefined;
    return { reads: this.readAll(), tasks: this.tasksStarted };
  }

  /**
   * A PUT whose body is byte for byte the body of the stored program of that
   * name: the same bytes parse to the same program with the same hash, both
   * checked when it was stored, so it is applied without parsing or hashing
   * it again. Undefined when the bytes differ (or there is no such program).
   */
  putSameBody(name: string, body: Buffer, ahead?: ReadAhead): Promise<ApplyResult> | undefined {
    const stored = this.programs.get(name);
    if (!stored?.body?.equals(body)) return undefined;
    return this.apply(name, () => ({ program: stored.program, hashChecked: true }), stored.body, ahead);
  }

  /**
   * The kernel is read (tools run as child processes) while the program is
   * parsed, checked and merged, and its file is written meanwhile; nothing is
   * written to the kernel before every check has passed, and the file becomes
   * the stored program only once the kernel holds the program (it is dropped
   * when the PUT is refused).
   */
  private apply(
    name: string,
    parse: () => ParsedBody,
    body: Buffer | undefined,
    ahead?: ReadAhead,
  ): Promise<ApplyResult> {
    return this.timed("put", name, async (started) => {
      this.requireReady();
      const reads = ahead?.tasks === this.tasksStarted - 1 ? ahead.reads : this.readAll();
      const { program, hashChecked } = parse();
      const previous = this.programs.get(name);
      const changed = previous?.program.hash !== program.hash;
      const stored: StoredProgram = {
        program,
        appliedAt: changed ? this.now().toISOString() : previous.appliedAt,
        ...(body ? { body } : {}),
      };
      const staged = changed ? this.options.store.stage(stored) : undefined;
      const before = this.sortedPrograms();
      const after = this.sortedPrograms(program);
      let writes: Writes;
      try {
        this.checkApplicable(program, hashChecked);
        writes = await this.transition(this.desiredOf(after), before, "apply", reads);
      } catch (error) {
        await staged?.discard();
        throw error;
      }
      if (staged) await this.persist(() => staged.commit(), before, after);
      if (changed || body) this.programs.set(name, stored);
      if (changed) {
        this.changes++;
        this.options.metrics.programs.set(this.programs.size);
      }
      this.options.log.info("program applied", { program: name, hash: program.hash, writes });
      return { name, hash: program.hash, writes, durationMs: performance.now() - started };
    });
  }

  /** Removes exactly what the program owns; undefined when the agent has no program by that name. */
  delete(name: string): Promise<ApplyResult | undefined> {
    return this.timed("delete", name, async (started) => {
      const previous = this.programs.get(name);
      if (!previous) return undefined;
      const before = this.sortedPrograms();
      const after = before.filter((p) => p.metadata.name !== name);
      const reads = this.readAll();
      const writes = await this.transition(this.desiredOf(after), before, "delete", reads);
      await this.persist(() => this.options.store.remove(name), before, after);
      this.programs.delete(name);
      this.changes++;
      this.options.metrics.programs.set(this.programs.size);
      this.options.log.info("program deleted", { program: name, writes });
      return { name, hash: previous.program.hash, writes, durationMs: performance.now() - started };
    });
  }

  /** The stored program and where the kernel differs from what it asks. */
  state(name: string): Promise<ProgramState | undefined> {
    return this.queue.run(async () => {
      this.requireReady();
      const stored = this.programs.get(name);
      if (!stored) return undefined;
      const programs = this.sortedPrograms();
      const reads = this.readAll();
      const drift = [];
      for (const [i, reconciler] of this.reconcilers.entries()) {
        const desired = reconciler.desired(programs);
        const found = reconciler.diff(desired, await reads[i]);
        for (const { program, ...d } of found) if (program === name) drift.push(d);
      }
      return { program: stored.program, appliedAt: stored.appliedAt, drift };
    });
  }

  list(): ProgramList {
    return {
      programs: this.sortedPrograms().map((p) => ({
        name: p.metadata.name,
        hash: p.hash,
        source: p.metadata.source,
      })),
    };
  }

  /**
   * Makes every subsystem hold the stored programs again. Each subsystem is
   * applied on its own, so one failing does not keep the others from being
   * repaired; writes made after start-up are drift that someone else caused.
   */
  reconcile(): Promise<ReconcilePass> {
    return this.queue.run(async () => {
      // A pass that waited behind a PUT or DELETE starts on the next turn of the event
      // loop: reading 100k map entries must not hold back that request's answer.
      await new Promise((resolve) => setImmediate(resolve));
      const programs = this.sortedPrograms();
      const reads = this.readAll();
      const writes = noWrites();
      const failed: Subsystem[] = [];
      for (const [i, reconciler] of this.reconcilers.entries()) {
        const subsystem = reconciler.subsystem;
        try {
          writes[subsystem] = await reconciler.apply(reconciler.desired(programs), await reads[i]);
        } catch (error) {
          failed.push(subsystem);
          this.options.metrics.reconcileErrors.inc({ subsystem });
          this.options.log.error("reconcile failed", { subsystem, error });
          continue;
        }
        if (writes[subsystem] > 0 && this.isReady) {
          this.options.metrics.driftRepairs.inc({ subsystem });
          this.options.log.warn("drift repaired", { subsystem, writes: writes[subsystem] });
        }
      }
      this.options.metrics.countWrites(writes, this.isReady ? "repair" : "restore");
      this.lastPass = this.now();
      if (!this.isReady && failed.length === 0) {
        this.isReady = true;
        this.options.metrics.ready.set(1);
        this.options.log.info("stored programs re-applied; serving", { programs: programs.length, writes });
      }
      return { writes, failed };
    });
  }

  private checkApplicable(program: NodeProgram, hashChecked: boolean): void {
    if (!hashChecked && !hashMatches(program)) {
      throw new RejectedError(400, "the program's hash does not match its content", [
        { path: "hash", message: "does not match sha256 of the canonical metadata and spec" },
      ]);
    }
    const problems = checkProgram(program, this.options.facts);
    if (problems.length > 0) throw new RejectedError(400, "the program does not fit this node", problems);
    const unsupported = unsupportedParts(program, this.wired);
    if (unsupported.length > 0) {
      throw new RejectedError(422, "the program needs subsystems this agent cannot program", unsupported);
    }
  }

  private requireReady(): void {
    if (!this.isReady) throw new NotReadyError();
  }

  /** Every subsystem's desired state, all computed before anything is written, so a conflict is found first. */
  private desiredOf(programs: readonly NodeProgram[]): unknown[] {
    return this.reconcilers.map((r) => desiredOf(r, programs));
  }

  /** Starts every subsystem's read at once: their tools run side by side. */
  private readAll(): Reads {
    return this.reconcilers.map((r) => {
      const read = r.read();
      // Awaited later, or never when the operation is refused first.
      read.catch(() => undefined);
      return read;
    });
  }

  /** Applies the desired states subsystem by subsystem, each against its read (fresh ones without `reads`). */
  private async transition(
    desired: readonly unknown[],
    previous: readonly NodeProgram[],
    cause: string,
    reads: Reads = this.readAll(),
  ): Promise<Writes> {
    const writes = noWrites();
    for (const [i, reconciler] of this.reconcilers.entries()) {
      try {
        writes[reconciler.subsystem] += await reconciler.apply(desired[i], await reads[i]);
      } catch (error) {
        this.options.metrics.countWrites(writes, cause);
        const rolledBack = await this.rollBack(i, previous);
        throw new ApplyFailedError(reconciler.subsystem, error, rolledBack);
      }
    }
    this.options.metrics.countWrites(writes, cause);
    return writes;
  }

  /** Re-applies `previous` to the subsystems up to and including `failedAt`, latest first. */
  private async rollBack(failedAt: number, previous: readonly NodeProgram[]): Promise<boolean> {
    let ok = true;
    const writes = noWrites();
    for (const reconciler of this.reconcilers.slice(0, failedAt + 1).reverse()) {
      try {
        writes[reconciler.subsystem] = await reconciler.apply(reconciler.desired(previous));
      } catch (error) {
        ok = false;
        this.options.log.error("rollback failed", { subsystem: reconciler.subsystem, error });
      }
    }
    this.options.metrics.countWrites(writes, "rollback");
    return ok;
  }

  /** Persists after the kernel changed; if the disk refuses, the kernel is put back so both agree. */
  private async persist(
    write: () => Promise<void>,
    before: readonly NodeProgram[],
    after: readonly NodeProgram[],
  ): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.options.log.error("persisting failed; restoring the previous state", { error });
      await this.transition(this.desiredOf(before), after, "rollback");
      throw error;
    }
  }

  /** The stored programs, with `replacing` put in place of its namesake, sorted by name. */
  private sortedPrograms(replacing?: NodeProgram): NodeProgram[] {
    const byName = new Map([...this.programs].map(([name, s]) => [name, s.program]));
    if (replacing) byName.set(replacing.metadata.name, replacing);
    return [...byName.keys()].sort().map((name) => byName.get(name)!);
  }

  private timed<T>(operation: string, program: string, task: (started: number) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      this.tasksStarted++;
      const started = performance.now();
      const end = (outcome: string) =>
        this.options.metrics.applyDuration.observe(
          { operation, outcome },
          (performance.now() - started) / 1000,
        );
      try {
        const result = await task(started);
        end("ok");
        return result;
      } catch (error) {
        end("error");
        this.options.log.warn(`${operation} refused or failed`, { program, error });
        throw error;
      }
    });
  }
}
