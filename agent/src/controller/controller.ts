import { canonicalJson } from "../../../sdk/compile/canonical";
import { API_VERSION } from "../../../sdk/schema/document";
import { ValidationError } from "../../../sdk/schema/problem";
import type { Logger } from "../log";
import { SerialQueue } from "../serial-queue";
import { KubernetesError, type KubernetesApi, type WatchEvent } from "../kubernetes/api";
import { POLICY_KINDS } from "./policy-resource";
import { reconcileResource, type ReconcileContext } from "./reconcile";

export interface ControllerOptions {
  readonly api: KubernetesApi;
  readonly context: ReconcileContext;
  readonly log: Logger;
  /** How often every resource is listed and reconciled again, events or not (agents restart, kernels drift). */
  readonly resyncMs: number;
  /** Wait after a failed list or watch before trying again. @default 5000 */
  readonly retryMs?: number;
}

interface StoredObject {
  metadata: {
    name: string;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
  };
  status?: unknown;
}

/**
 * What a reconcile depends on besides the agents: the spec (its generation),
 * a deletion, and the labels (a Pulumi-managed resource is only reported on).
 * Finalizer and status writes leave it unchanged.
 */
const reconcileInputs = ({ metadata }: StoredObject) =>
  canonicalJson([metadata.generation ?? null, metadata.deletionTimestamp ?? null, metadata.labels ?? {}]);

const collection = (plural: string) => `/apis/${API_VERSION}/${plural}`;

/**
 * The controller process around `reconcileResource`: for each policy kind,
 * list then watch the custom resources, reconcile every one that appears or
 * changes, and write back finalizers and `.status`. A watch lasts one resync
 * period; the list after it reconciles everything again. All reconciles run
 * one at a time, so two events of one resource never race at the agents.
 */
export class PolicyController {
  private readonly queue = new SerialQueue();
  /** `plural/name` -> the reconcile inputs of its last successful reconcile. */
  private readonly reconciled = new Map<string, string>();

  constructor(private readonly options: ControllerOptions) {}

  run(signal: AbortSignal): Promise<void> {
    return Promise.all(Object.values(POLICY_KINDS).map(({ plural }) => this.informer(plural, signal))).then(
      () => undefined,
    );
  }

  private async informer(plural: string, signal: AbortSignal): Promise<void> {
    const { api, log, resyncMs, retryMs = 5000 } = this.options;
    while (!signal.aborted) {
      try {
        const list = await api.get<{ items: StoredObject[]; metadata: { resourceVersion: string } }>(
          collection(plural),
        );
        for (const item of list.items) await this.handle(plural, item);
        await api.watch(
          collection(plural),
          list.metadata.resourceVersion,
          (event) => this.onEvent(plural, event),
          AbortSignal.any([signal, AbortSignal.timeout(resyncMs)]),
          Math.ceil(resyncMs / 1000),
        );
      } catch (error) {
        // 410: the watch's resourceVersion is too old to resume from; the list right away is the remedy.
        if (error instanceof KubernetesError && error.status === 410) continue;
        log.error("list or watch failed", { resource: plural, error });
        await new Promise((resolve) => setTimeout(resolve, retryMs));
      }
    }
  }

  private async onEvent(plural: string, event: WatchEvent): Promise<void> {
    const object = event.object as unknown as StoredObject;
    const key = `${plural}/${object.metadata.name}`;
    // DELETED needs no work: a resource the controller programmed keeps its finalizer until its programs are gone.
    if (event.type === "DELETED") this.reconciled.delete(key);
    if (event.type !== "ADDED" && event.type !== "MODIFIED") return;
    // The controller's own finalizer and status writes come back as events, each carrying the object as it
    // was before the next write: reconciling those would write the status again from a stale copy.
    if (this.reconciled.get(key) === reconcileInputs(object)) return;
    await this.handle(plural, object);
  }

  /** Reconciles one resource (listed or from an event) and writes back what changed. */
  private handle(plural: string, object: StoredObject): Promise<void> {
    return this.queue.run(async () => {
      const { api, context, log } = this.options;
      const path = `${collection(plural)}/${object.metadata.name}`;
      try {
        const outcome = await reconcileResource(object, context);
        if (outcome.finalizers) {
          await api.mergePatch(path, {
            metadata: { finalizers: outcome.finalizers, resourceVersion: object.metadata.resourceVersion },
          });
        }
        if (outcome.status && canonicalJson(outcome.status) !== canonicalJson(object.status ?? null)) {
          await api.mergePatch(`${path}/status`, { status: outcome.status });
        }
        this.reconciled.set(`${plural}/${object.metadata.name}`, reconcileInputs(object));
        log.info("reconciled", {
          resource: plural,
          name: object.metadata.name,
          applied: outcome.status?.applied,
        });
      } catch (error) {
        // A conflict means the resource changed meanwhile: its next event brings the new version.
        const level = error instanceof KubernetesError && error.status === 409 ? "debug" : "error";
        const problems = error instanceof ValidationError ? error.problems : undefined;
        log[level]("reconcile failed", { resource: plural, name: object.metadata.name, error, problems });
      }
    });
  }
}
