import type { AgentClient } from "../../sdk/agent-api";

/**
 * The live view `lab up` keeps on stderr: the phase, and from the agent's flow
 * table the flows seen, those inspection has classified, and their bytes. On
 * a terminal one line redrawn in place; otherwise a line per phase and every
 * few seconds, so CI logs stay readable.
 */
export class Progress {
  private phase = "starting";
  private line = "";
  private client?: AgentClient;
  private timer?: NodeJS.Timeout;
  private lastPrinted = 0;
  private readonly started = Date.now();

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {}

  /** From now on the view also shows the agent's counts. */
  watch(client: AgentClient): void {
    this.client = client;
    this.timer ??= setInterval(() => void this.poll(), 1000);
  }

  set(phase: string): void {
    this.phase = phase;
    this.render(true);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) this.write("\n");
  }

  private async poll(): Promise<void> {
    if (!this.client) return;
    try {
      const { flows, total } = await this.client.runtimeFlows();
      const classified = flows.filter((f) => f.app !== null).length;
      const bytes = flows.reduce((s, f) => s + f.bytes.orig + f.bytes.reply, 0);
      this.line = `flows ${total}, classified ${classified}, ${(bytes / 1e6).toFixed(1)} MB`;
    } catch (error) {
      this.line = `agent: ${(error as Error).message.split("\n")[0]}`;
    }
    this.render(false);
  }

  private render(phaseChanged: boolean): void {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(0).padStart(3);
    const text = `lab [${seconds}s] ${this.phase}${this.line ? ` | ${this.line}` : ""}`;
    if (this.tty) {
      this.write(`\r\x1b[K${text}`);
    } else if (phaseChanged || Date.now() - this.lastPrinted > 5000) {
      this.write(text + "\n");
      this.lastPrinted = Date.now();
    }
  }
}
