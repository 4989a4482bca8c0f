import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { KubernetesApi, type KubernetesEndpoint } from "@fos1/dpi/agent/src/kubernetes/api";
import { selfSignedTls } from "./fixtures/tls";

const TOKEN = "controller-sa-token";
const CUSTOM_RESOURCES = /^\/apis\/networking\.fos1\.io\/v1\/([a-z]+)(?:\/([^/]+))?(\/status)?$/;
const LEASES = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/;

type Json = Record<string, unknown>;
interface Metadata {
  name: string;
  resourceVersion?: string;
  generation?: number;
  finalizers?: string[];
  [key: string]: unknown;
}
export interface StoredObject extends Json {
  metadata: Metadata;
}

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly contentType?: string;
  readonly body?: Json;
  readonly status: number;
}

interface HistoryEntry {
  readonly resourceVersion: number;
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly object: StoredObject;
}

interface OpenWatch {
  readonly plural: string;
  readonly res: ServerResponse;
}

/** What the next watch request of a collection gets instead of its events. */
export type WatchFault =
  /** 200 and one ERROR event carrying a 410 Status, as the API server answers a compacted version. */
  | "expired-event"
  /** A 410 status code on the watch request itself. */
  | "expired-status"
  /** A line that is not JSON (a proxy in the way), with the stream left open. */
  | "garbage";

const clone = <T>(value: T): T => structuredClone(value);

/** RFC 7386: objects merge key by key, null deletes, anything else (lists too) replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return clone(patch);
  const out: Json =
    target !== null && typeof target === "object" && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [key, value] of Object.entries(patch as Json)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * A stand-in for the Kubernetes API server, as much of it as the controller
 * uses (there is no cluster on the build machines): cluster-scoped custom
 * resources with list, watch (resumable by resourceVersion, with a history
 * that can be compacted so an old version gets 410 Gone), merge-patch of a
 * resource and of its status subresource, and coordination.k8s.io Leases
 * with optimistic concurrency. Every request is recorded.
 */
export class FakeKubernetesApiServer {
  readonly calls: RecordedCall[] = [];
  private readonly tls = selfSignedTls();
  private readonly collections = new Map<string, Map<string, StoredObject>>();
  private readonly history: Array<HistoryEntry & { plural: string }> = [];
  private readonly leases = new Map<string, StoredObject>();
  private readonly watches = new Set<OpenWatch>();
  private readonly sockets = new Set<Socket>();
  private readonly faults = new Map<string, { fault: WatchFault; before?: () => void }>();
  /** Versions at or below this are gone from the watch history (etcd compaction). */
  private compactedThrough = 0;
  private version = 100;
  /** Whether watches end after their `timeoutSeconds`, as the API server does. */
  honourWatchTimeout = true;
  private server?: Server;
  url = "";

  async start(): Promise<void> {
    this.server = createServer({ cert: this.tls.cert, key: readFileSync(this.tls.keyFile) }, (req, res) =>
      this.receive(req, res),
    );
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** The server as a pod with its service-account token and CA sees it. */
  endpoint(): KubernetesEndpoint {
    return { url: this.url, token: () => TOKEN, ca: this.tls.cert };
  }

  client(timeoutMs = 5000): KubernetesApi {
    return new KubernetesApi(this.endpoint(), timeoutMs);
  }

  /**
   * `kubectl apply` of a custom resource: created (generation 1) or its spec
   * replaced (generation + 1 when the spec changed); watchers get the event.
   */
  apply(plural: string, object: Json & { metadata: { name: string } }): StoredObject {
    const items = this.collection(plural);
    const existing = items.get(object.metadata.name);
    const specChanged = JSON.stringify(existing?.spec) !== JSON.stringify(object.spec);
    const stored: StoredObject = {
      ...clone(existing ?? {}),
      ...clone(object),
      metadata: {
        ...clone(existing?.metadata ?? {}),
        ...clone(object.metadata),
        generation: (existing?.metadata.generation ?? 0) + (existing && !specChanged ? 0 : 1),
      },
    };
    return this.store(plural, stored, existing ? "MODIFIED" : "ADDED");
  }

  /**
   * `kubectl delete`: a resource with finalizers gets its deletionTimestamp
   * and stays until they are all removed; one without goes at once.
   */
  delete(plural: string, name: string): void {
    const current = this.collection(plural).get(name);
    if (!current) throw new Error(`${plural}/${name} does not exist`);
    if ((current.metadata.finalizers ?? []).length === 0) {
      this.collection(plural).delete(name);
      this.record(plural, clone(current), "DELETED");
      return;
    }
    const next = clone(current);
    next.metadata.deletionTimestamp = "2024-05-01T12:00:00Z";
    this.store(plural, next, "MODIFIED");
  }

  /** The stored resource, as `kubectl get -o json` shows it. */
  get(plural: string, name: string): StoredObject | undefined {
    const found = this.collection(plural).get(name);
    return found && clone(found);
  }

  /** Watch events up to the current version are forgotten: a watch from before it gets 410 Gone. */
  compact(): void {
    this.compactedThrough = this.version;
  }

  /** The next watch of `plural` fails with `fault`, after `before` ran (e.g. a change the watch would have carried). */
  failNextWatch(plural: string, fault: WatchFault, before?: () => void): void {
    this.faults.set(plural, { fault, before });
  }

  /** Ends every open watch stream cleanly, as the API server does at a watch's timeout. */
  endWatches(): void {
    for (const watch of this.watches) watch.res.end();
    this.watches.clear();
  }

  /** Drops every open watch connection without ending its response (a restarted API server, a lost network path). */
  dropWatches(): void {
    for (const watch of this.watches) watch.res.socket?.destroy();
    this.watches.clear();
  }

  openWatches(plural?: string): number {
    return [...this.watches].filter((w) => plural === undefined || w.plural === plural).length;
  }

  /** The lease as stored, if any. */
  lease(namespace: string, name: string): StoredObject | undefined {
    const found = this.leases.get(`${namespace}/${name}`);
    return found && clone(found);
  }

  private collection(plural: string): Map<string, StoredObject> {
    let items = this.collections.get(plural);
    if (!items) {
      items = new Map();
      this.collections.set(plural, items);
    }
    return items;
  }

  private store(plural: string, object: StoredObject, type: HistoryEntry["type"]): StoredObject {
    this.collection(plural).set(object.metadata.name, object);
    return this.record(plural, object, type);
  }

  /** A new resourceVersion for `object`, kept in the watch history and sent to the open watches. */
  private record(plural: string, object: StoredObject, type: HistoryEntry["type"]): StoredObject {
    this.version += 1;
    object.metadata.resourceVersion = String(this.version);
    const entry = { plural, resourceVersion: this.version, type, object: clone(object) };
    this.history.push(entry);
    for (const watch of this.watches) {
      if (watch.plural === plural) send(watch.res, entry);
    }
    return clone(object);
  }

  private receive(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "https://api.invalid");
      const text = Buffer.concat(chunks).toString("utf8");
      const call = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        ...(req.headers["content-type"] ? { contentType: req.headers["content-type"] } : {}),
        ...(text ? { body: JSON.parse(text) as Json } : {}),
      };
      const status = this.route(call, res);
      this.calls.push({ ...call, status });
    });
  }

  /** Answers one request; returns the status sent (200 for a watch stream). */
  private route(call: Omit<RecordedCall, "status">, res: ServerResponse): number {
    if (res.req.headers.authorization !== `Bearer ${TOKEN}`) {
      return reply(res, 401, status(401, "Unauthorized"));
    }
    const custom = CUSTOM_RESOURCES.exec(call.path);
    if (custom) return this.customResource(call, res, custom[1], custom[2], custom[3] !== undefined);
    const lease = LEASES.exec(call.path);
    if (lease) return this.leaseCall(call, res, lease[1], lease[2]);
    return reply(res, 404, status(404, `${call.path} not found`));
  }

  private customResource(
    call: Omit<RecordedCall, "status">,
    res: ServerResponse,
    plural: string,
    name: string | undefined,
    statusSubresource: boolean,
  ): number {
    const items = this.collection(plural);
    if (name === undefined && call.method === "GET" && call.query.watch === "true") {
      return this.watch(plural, call.query, res);
    }
    if (name === undefined && call.method === "GET") {
      return reply(res, 200, {
        apiVersion: "networking.fos1.io/v1",
        kind: "List",
        metadata: { resourceVersion: String(this.version) },
        items: [...items.values()].map(clone),
      });
    }
    const current = name === undefined ? undefined : items.get(name);
    if (!current) return reply(res, 404, status(404, `${plural} "${name}" not found`));
    if (call.method !== "PATCH") return reply(res, 405, status(405, `${call.method} not allowed`));
    if (call.contentType !== "application/merge-patch+json") {
      return reply(res, 415, status(415, `unsupported patch type ${call.contentType}`));
    }
    const patch = call.body ?? {};
    const precondition = (patch.metadata as Metadata | undefined)?.resourceVersion;
    if (precondition !== undefined && precondition !== current.metadata.resourceVersion) {
      return reply(res, 409, status(409, "the object has been modified; please apply your changes"));
    }
    // The status subresource takes only `.status`; the main resource ignores `.status`.
    let next: StoredObject;
    if (statusSubresource) {
      next = { ...clone(current), status: mergePatch(current.status, patch.status) };
    } else {
      const body = { ...patch };
      delete body.status;
      next = mergePatch(current, body) as StoredObject;
    }
    delete next.metadata.resourceVersion;
    const done =
      next.metadata.deletionTimestamp !== undefined && (next.metadata.finalizers ?? []).length === 0;
    if (done) {
      items.delete(current.metadata.name);
      return reply(res, 200, this.record(plural, next, "DELETED"));
    }
    return reply(res, 200, this.store(plural, next, "MODIFIED"));
  }

  private watch(plural: string, query: Record<string, string>, res: ServerResponse): number {
    const from = Number(query.resourceVersion ?? "0");
    const fault = this.faults.get(plural);
    this.faults.delete(plural);
    fault?.before?.();
    const expired = fault?.fault.startsWith("expired") === true || from < this.compactedThrough;
    if (expired && fault?.fault === "expired-status") {
      return reply(res, 410, status(410, `too old resource version: ${from} (${this.compactedThrough})`));
    }
    res.writeHead(200, { "content-type": "application/json" });
    if (fault?.fault === "garbage") {
      res.write("<html>502 Bad Gateway</html>\n");
      return 200;
    }
    if (expired) {
      res.end(
        JSON.stringify({
          type: "ERROR",
          object: status(410, `too old resource version: ${from} (${this.compactedThrough})`, "Expired"),
        }) + "\n",
      );
      return 200;
    }
    const watch = { plural, res };
    this.watches.add(watch);
    res.on("close", () => this.watches.delete(watch));
    for (const entry of this.history) {
      if (entry.plural === plural && entry.resourceVersion > from) send(res, entry);
    }
    const seconds = Number(query.timeoutSeconds ?? "0");
    if (this.honourWatchTimeout && seconds > 0) {
      const timer = setTimeout(() => res.end(), seconds * 1000);
      res.on("close", () => clearTimeout(timer));
    }
    return 200;
  }

  private leaseCall(
    call: Omit<RecordedCall, "status">,
    res: ServerResponse,
    namespace: string,
    name: string | undefined,
  ): number {
    const key = (n: string) => `${namespace}/${n}`;
    if (call.method === "POST" && name === undefined) {
      const body = call.body as StoredObject;
      if (this.leases.has(key(body.metadata.name))) {
        return reply(res, 409, status(409, `leases "${body.metadata.name}" already exists`));
      }
      return reply(res, 201, this.saveLease(key(body.metadata.name), body));
    }
    const current = name === undefined ? undefined : this.leases.get(key(name));
    if (!current || name === undefined) return reply(res, 404, status(404, `leases "${name}" not found`));
    if (call.method === "GET") return reply(res, 200, clone(current));
    if (call.method === "PUT") {
      const body = call.body as StoredObject;
      if (body.metadata.resourceVersion !== current.metadata.resourceVersion) {
        return reply(res, 409, status(409, "the object has been modified; please apply your changes"));
      }
      return reply(res, 200, this.saveLease(key(name), body));
    }
    return reply(res, 405, status(405, `${call.method} not allowed`));
  }

  private saveLease(key: string, lease: StoredObject): StoredObject {
    this.version += 1;
    const stored = {
      ...clone(lease),
      metadata: { ...clone(lease.metadata), resourceVersion: String(this.version) },
    };
    this.leases.set(key, stored);
    return clone(stored);
  }
}

function status(code: number, message: string, reason?: string): Json {
  return {
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    message,
    code,
    ...(reason ? { reason } : {}),
  };
}

function reply(res: ServerResponse, code: number, body: unknown): number {
  res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(body));
  return code;
}

function send(res: ServerResponse, entry: HistoryEntry): void {
  res.write(JSON.stringify({ type: entry.type, object: entry.object }) + "\n");
}
