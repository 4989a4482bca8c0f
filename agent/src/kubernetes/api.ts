import { readFileSync } from "node:fs";
import { request, type RequestOptions } from "node:https";
import type { IncomingMessage } from "node:http";

/** Where Kubernetes mounts a pod's service-account credentials. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface KubernetesEndpoint {
  /** `https://host:port` of the API server. */
  readonly url: string;
  /** Read before every request: projected service-account tokens are rotated while the pod runs. */
  readonly token: () => string;
  readonly ca: string;
}

/** The API server as a pod sees it: the service env variables and the mounted service-account files. */
export function inClusterEndpoint(
  env: NodeJS.ProcessEnv = process.env,
  dir = SERVICE_ACCOUNT_DIR,
): KubernetesEndpoint {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) throw new Error("KUBERNETES_SERVICE_HOST is not set: not running inside a cluster");
  return {
    url: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    token: () => readFileSync(`${dir}/token`, "utf8").trim(),
    ca: readFileSync(`${dir}/ca.crt`, "utf8"),
  };
}

/** A failed API call: the HTTP status and the API server's Status message. */
export class KubernetesError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "KubernetesError";
  }
}

/** One event of a watch stream. */
export interface WatchEvent {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: { metadata?: { resourceVersion?: string }; code?: number; message?: string } & Record<
    string,
    unknown
  >;
}

/**
 * The few calls the controller and the agent's Kubernetes Events make, as
 * plain HTTPS with the service-account token: list, watch, merge-patch,
 * create and replace. JSON in, JSON out.
 */
export class KubernetesApi {
  /** `timeoutMs`: how long a call (not a watch) may go unanswered. */
  constructor(
    private readonly endpoint: KubernetesEndpoint,
    private readonly timeoutMs = 30_000,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }

  create<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("POST", path, body, "application/json");
  }

  replace<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("PUT", path, body, "application/json");
  }

  /** JSON merge patch (RFC 7386): lists in the patch replace the stored lists. */
  mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.call<T>("PATCH", path, patch, "application/merge-patch+json");
  }

  /**
   * Streams a watch until the server ends it (after `timeoutSeconds`),
   * `signal` aborts it, or it fails; resolves with the last resourceVersion
   * seen, to resume from.
   */
  watch(
    path: string,
    resourceVersion: string,
    onEvent: (event: WatchEvent) => Promise<void>,
    signal: AbortSignal,
    timeoutSeconds = 300,
  ): Promise<string> {
    const query = new URLSearchParams({
      watch: "true",
      resourceVersion,
      allowWatchBookmarks: "true",
      timeoutSeconds: String(timeoutSeconds),
    });
    let last = resourceVersion;
    return new Promise((resolve, reject) => {
      // Events are handled one at a time in arrival order, so a later one never overtakes an earlier one.
      let chain = Promise.resolve();
      let failed = false;
      // The first failure ends the watch: later events are not handled, and the connection is closed.
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        req.destroy();
        reject(error);
      };
      // Ended by the server or by `signal` (a resync, a shutdown): the events received are handled first.
      const finish = () => void chain.then(() => !failed && resolve(last));
      const handle = (line: string) => {
        let event: WatchEvent;
        try {
          event = JSON.parse(line) as WatchEvent;
        } catch {
          fail(new Error(`watch ${path}: not a JSON event: ${line.slice(0, 200)}`));
          return;
        }
        chain = chain
          .then(async () => {
            if (failed) return;
            if (event.type === "ERROR") {
              // 410 Gone here: the version is too old to resume from; the caller lists again.
              throw new KubernetesError(event.object.code ?? 500, `watch ${path}: ${event.object.message}`);
            }
            last = event.object.metadata?.resourceVersion ?? last;
            await onEvent(event);
          })
          .catch(fail);
      };
      const req = request(
        new URL(`${path}?${query}`, this.endpoint.url),
        { ...this.options("GET"), signal },
        (res) => {
          if ((res.statusCode ?? 0) !== 200) {
            readAll(res).then((text) => fail(statusError(res.statusCode ?? 0, "GET", path, text)), fail);
            return;
          }
          let buffered = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            buffered += chunk;
            const lines = buffered.split("\n");
            buffered = lines.pop() ?? "";
            for (const line of lines) if (line.trim() !== "") handle(line);
          });
          res.on("end", finish);
          res.on("error", (error) => (signal.aborted ? finish() : fail(error)));
          // A connection lost mid-stream may close the response without an error: the watch must not hang.
          res.on("close", () => {
            if (res.complete || signal.aborted) finish();
            else fail(new Error(`watch ${path}: the connection closed mid-stream`));
          });
        },
      );
      req.on("error", (error) => (signal.aborted ? finish() : fail(error)));
      req.end();
    });
  }

  private options(method: string, contentType?: string, length?: number): RequestOptions {
    return {
      method,
      ca: this.endpoint.ca,
      headers: {
        authorization: `Bearer ${this.endpoint.token()}`,
        accept: "application/json",
        ...(contentType ? { "content-type": contentType, "content-length": length } : {}),
      },
    };
  }

  private call<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.endpoint.url),
        { ...this.options(method, contentType, payload?.length), timeout: this.timeoutMs },
        (res) => {
          readAll(res).then((text) => {
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) reject(statusError(status, method, path, text));
            else resolve(JSON.parse(text) as T);
          }, reject);
        },
      );
      req.on("timeout", () =>
        req.destroy(new Error(`${method} ${path}: no answer within ${this.timeoutMs} ms`)),
      );
      req.on("error", reject);
      req.end(payload);
    });
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

/** The API server answers errors with a Status object; its message says what was wrong. */
function statusError(status: number, method: string, path: string, text: string): KubernetesError {
  let message = text.slice(0, 300);
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message;
  } catch {
    // Not a Status object (a proxy in the way): the raw text is the best we have.
  }
  return new KubernetesError(status, `${method} ${path}: ${status} ${message}`);
}
