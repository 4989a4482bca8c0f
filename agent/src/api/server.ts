import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { performance } from "node:perf_hooks";
import { AGENT_API_PREFIX, type ApiError, type Health } from "../../../sdk/agent-api/api";
import { nodeProgramMetadata, type NodeProgram } from "../../../sdk/compile/node-program";
import { problemsFromZod, type Problem } from "../../../sdk/schema/problem";
import { ApplyFailedError, NotReadyError, RejectedError } from "../engine/errors";
import type { ParsedBody, ReconcileEngine } from "../engine/reconcile-engine";
import type { Logger } from "../log";
import type { AgentMetrics } from "../metrics";
import type { RuntimeView } from "../runtime/runtime-view";
import { runtimeRoute } from "./runtime-routes";
import { ConflictError } from "../reconcile/reconciler";
import { bearerTokenCheck } from "./bearer-token";
import { BodyError, parseJson, readJsonBody } from "./json-body";
import { parseProgramBody } from "./program-body";
import { readSealedBody } from "./sealed-body";

export interface ServerOptions {
  readonly engine: ReconcileEngine;
  /** The bearer token every route but the probes requires. */
  readonly token: string;
  /** PEM certificate chain and key. */
  readonly tls: { readonly cert: string | Buffer; readonly key: string | Buffer };
  readonly maxBodyBytes: number;
  readonly metrics: AgentMetrics;
  readonly log: Logger;
  readonly node: string;
  readonly version: string;
  /** Answers `/v1/runtime/*`; absent: 404. */
  readonly runtime?: RuntimeView;
}

const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** More problems than this are summarised: a 1M-entry body of wrong types must not produce a 100 MB answer. */
const MAX_PROBLEMS = 100;

/** An answer: status and JSON body (or text, for /metrics). */
interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly contentType?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: readonly Problem[] = [],
  ) {
    super(message);
  }
}

/**
 * The agent's HTTPS API (sdk/agent-api/api.ts). Authentication comes before
 * anything else is looked at, including the body, so an unauthenticated
 * request has no effect whatever it carries.
 */
export function createAgentServer(options: ServerOptions): Server {
  const authorized = bearerTokenCheck(options.token);
  const server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    const started = performance.now();
    route(req, options, authorized)
      .catch((error: unknown) => errorReply(error, options.log))
      .then((reply) => {
        send(res, reply);
        const path = (req.url ?? "").split("?")[0];
        // Probes and scrapes arrive every few seconds; they are logged only at debug level.
        const quiet = reply.status < 400 && (QUIET_PATHS.has(path) || req.method === "GET");
        options.log[quiet ? "debug" : "info"]("request", {
          method: req.method,
          path,
          status: reply.status,
          ms: Math.round(performance.now() - started),
          remote: req.socket.remoteAddress,
        });
      });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 300_000;
  return server;
}

async function route(
  req: IncomingMessage,
  options: ServerOptions,
  authorized: (header: string | undefined) => boolean,
): Promise<Reply> {
  const { engine } = options;
  const path = new URL(req.url ?? "/", "https://agent.invalid").pathname;
  const method = req.method ?? "GET";

  if (path === "/healthz" || path === "/readyz") {
    allow(method, ["GET"]);
    const ok = path === "/healthz" || engine.ready;
    const health: Health = {
      ok,
      programs: engine.programCount,
      ...(engine.lastReconcile ? { lastReconcile: engine.lastReconcile.toISOString() } : {}),
    };
    return { status: ok ? 200 : 503, body: health };
  }
  if (!authorized(req.headers.authorization)) {
    throw new HttpError(401, "missing or wrong bearer token");
  }
  if (path === "/metrics") {
    allow(method, ["GET"]);
    return {
      status: 200,
      body: await options.metrics.registry.metrics(),
      contentType: options.metrics.registry.contentType,
    };
  }
  if (path === `${AGENT_API_PREFIX}/version`) {
    allow(method, ["GET"]);
    return { status: 200, body: { version: options.version, api: "v1", node: options.node } };
  }
  if (path.startsWith(`${AGENT_API_PREFIX}/runtime/`)) {
    allow(method, ["GET"]);
    const reply = options.runtime && runtimeRoute(options.runtime, path, req.url ?? "");
    if (!reply) throw new HttpError(404, `no route ${path}`);
    if ("error" in reply) throw new HttpError(reply.status, reply.error);
    return { status: 200, body: reply.body };
  }
  if (path === `${AGENT_API_PREFIX}/programs`) {
    allow(method, ["GET"]);
    return { status: 200, body: engine.list() };
  }
  const prefix = `${AGENT_API_PREFIX}/programs/`;
  if (!path.startsWith(prefix)) throw new HttpError(404, `no route ${path}`);
  const name = programName(path.slice(prefix.length));
  allow(method, ["GET", "PUT", "DELETE"]);

  if (method === "GET") {
    const state = await engine.state(name);
    if (!state) throw new HttpError(404, `no program "${name}"`);
    return { status: 200, body: state };
  }
  if (method === "DELETE") {
    const result = await engine.delete(name);
    if (!result) throw new HttpError(404, `no program "${name}"`);
    return { status: 200, body: result };
  }
  // The kernel is read while the body arrives (a 100k-entry program takes ~50 ms to receive).
  const ahead = engine.readAhead();
  const body = await readJsonBody(req, options.maxBodyBytes);
  // Tools PUT the same compiled program again and again; the same bytes are the same program.
  const same = engine.putSameBody(name, body, ahead);
  if (same) return { status: 200, body: await same };
  return { status: 200, body: await engine.putBody(name, body, () => programIn(body, name), ahead) };
}

/** The program a PUT body holds, validated, or the 400 that says why it is none. */
function programIn(body: Buffer, name: string): ParsedBody {
  const sealed = readSealedBody(body);
  const program = sealed ?? parsedProgram(body);
  if (program.metadata.name !== name) {
    throw new HttpError(400, "the URL names another program than the body", [
      { path: "metadata.name", message: `is "${program.metadata.name}", the URL says "${name}"` },
    ]);
  }
  return { program, hashChecked: sealed !== undefined };
}

function parsedProgram(body: Buffer): NodeProgram {
  const parsed = parseProgramBody(parseJson(body));
  if (!parsed.success)
    throw new HttpError(400, "the body is not a valid NodeProgram", problemsFromZod(parsed.error));
  return parsed.data;
}

function programName(segment: string): string {
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, "the program name in the URL is not valid percent-encoding");
  }
  const valid = nodeProgramMetadata.shape.name.safeParse(name);
  if (!valid.success) {
    throw new HttpError(400, "the program name in the URL is not a program name", [
      { path: "metadata.name", message: valid.error.issues[0].message },
    ]);
  }
  return name;
}

function allow(method: string, methods: readonly string[]): void {
  if (!methods.includes(method))
    throw new HttpError(405, `${method} is not allowed here; use ${methods.join(", ")}`);
}

function errorReply(error: unknown, log: Logger): Reply {
  const reply = (status: number, message: string, problems: readonly Problem[] = []): Reply => {
    const shown = problems.slice(0, MAX_PROBLEMS).map(({ path, message }) => ({ path, message }));
    if (problems.length > MAX_PROBLEMS) {
      shown.push({ path: "", message: `and ${problems.length - MAX_PROBLEMS} more problems` });
    }
    const body: ApiError = { error: message, problems: shown };
    return { status, body };
  };
  if (error instanceof HttpError || error instanceof RejectedError) {
    return reply(error.status, error.message, error.problems);
  }
  if (error instanceof BodyError) return reply(error.status, error.message);
  if (error instanceof ConflictError) {
    return reply(409, "the program conflicts with another program on this node", [
      { path: error.path, message: error.message },
    ]);
  }
  if (error instanceof NotReadyError) return reply(503, error.message);
  if (error instanceof ApplyFailedError) return reply(500, error.message);
  log.error("request failed", { error });
  return reply(500, `internal error: ${error instanceof Error ? error.message : String(error)}`);
}

function send(res: ServerResponse, reply: Reply): void {
  const text = typeof reply.body === "string" && reply.contentType ? reply.body : JSON.stringify(reply.body);
  const headers: Record<string, string | number> = {
    "content-type": reply.contentType ?? "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  };
  if (reply.status === 401) headers["www-authenticate"] = 'Bearer realm="fos1-dpi-agent"';
  // An error may leave a request body unread; closing the connection spares reading it.
  if (reply.status >= 400) headers.connection = "close";
  res.writeHead(reply.status, headers);
  res.end(text);
}
