import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DpiEvent } from "../../../sdk/events";
import type { EventSink } from "../../src/ingest";

export const TESTDATA = "/work/shared/testdata";

/** A sink that keeps every event it accepts, in order. */
export function collectingSink(): { sink: EventSink; events: DpiEvent[]; batches: number[] } {
  const events: DpiEvent[] = [];
  const batches: number[] = [];
  return {
    events,
    batches,
    sink: async (batch) => {
      events.push(...batch);
      batches.push(batch.length);
    },
  };
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A fresh directory under the system temp dir, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `ig-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sampleLines(path: string): string[] {
  return readFileSync(join(TESTDATA, path), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");
}

const REAL_ALERT = sampleLines("suricata/fhassanabad-wrccdc-2018-alerts.eve.json")[0];

/** A real Suricata alert line numbered by its flow_id, so order, loss and duplicates show. */
export function numberedEveLine(n: number): string {
  return JSON.stringify({ ...(JSON.parse(REAL_ALERT) as object), flow_id: n });
}

/** The numbers of the events, in delivery order. */
export function flowNumbers(events: readonly DpiEvent[]): number[] {
  return events.map((e) => Number(e.flow.flowId));
}
