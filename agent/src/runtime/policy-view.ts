import type { NodeProgram } from "../../../sdk/compile/node-program";
import { nodePolicyFrom, type NodePolicy } from "../../../sdk/decide";

/** What the view reads from the engine: the programs and a counter that moves when they change. */
export interface ProgramSource {
  readonly revision: number;
  /** True while programs are being applied: the revision is about to change. */
  readonly applying: boolean;
  currentPrograms(): readonly NodeProgram[];
}

/**
 * The node's policy as runtime decisions need it, rebuilt only when the
 * programs change: events arrive thousands per second, PUTs rarely.
 */
export class PolicyView {
  private revision = -1;
  private policy: NodePolicy = nodePolicyFrom([]);

  constructor(private readonly source: ProgramSource) {}

  current(): NodePolicy {
    if (this.revision !== this.source.revision) {
      this.revision = this.source.revision;
      this.policy = nodePolicyFrom(this.source.currentPrograms());
    }
    return this.policy;
  }

  /**
   * The policy as last built, rebuilt first only when no program is being
   * applied. For periodic work that can wait a tick: a PUT of a large program
   * yields to the event loop between long synchronous steps, and rebuilding
   * there (~50-100 ms for 100k entries) would lengthen the PUT.
   */
  settled(): NodePolicy {
    return this.source.applying ? this.policy : this.current();
  }
}
