import type { ReconcileEngine } from "./engine/reconcile-engine";
import type { Logger } from "./log";

/**
 * Runs `engine.reconcile()` now and then every `intervalMs` after the previous
 * pass ended (passes never overlap). The first pass is the start-up re-apply;
 * until one succeeds the engine is not ready and passes keep being retried.
 */
export function startReconcileLoop(
  engine: ReconcileEngine,
  intervalMs: number,
  log: Logger,
): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const pass = () => {
    running = engine
      .reconcile()
      .then(
        () => undefined,
        (error: unknown) => log.error("reconcile pass failed", { error }),
      )
      .then(() => {
        if (!stopped) timer = setTimeout(pass, intervalMs);
      });
  };
  pass();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
