import type { Problem } from "../../../sdk/schema/problem";
import type { Subsystem } from "../reconcile/reconciler";

/** A request the agent refuses before touching the kernel: 400 (invalid) or 422 (valid, but not applicable here). */
export class RejectedError extends Error {
  constructor(
    readonly status: 400 | 422,
    message: string,
    readonly problems: readonly Problem[] = [],
  ) {
    super(message);
    this.name = "RejectedError";
  }
}

/** The agent has not yet re-applied its stored programs since it started. */
export class NotReadyError extends Error {
  constructor() {
    super("the agent is starting: stored programs are not yet re-applied");
    this.name = "NotReadyError";
  }
}

/** A subsystem failed mid-apply; the subsystems already changed were put back to the previous state. */
export class ApplyFailedError extends Error {
  constructor(
    readonly subsystem: Subsystem,
    readonly reason: unknown,
    /** False when putting a subsystem back failed too; the reconcile loop keeps retrying it. */
    readonly rolledBack: boolean,
  ) {
    super(
      `applying ${subsystem} failed: ${reason instanceof Error ? reason.message : String(reason)}; ` +
        (rolledBack ? "the previous state was restored" : "restoring the previous state failed"),
    );
    this.name = "ApplyFailedError";
  }
}
