import { request as httpsRequest } from "node:https";
import type { z } from "zod";
import type { NodeProgram } from "../compile/node-program";
import {
  AGENT_API_PREFIX,
  apiError,
  applyResult,
  programList,
  programState,
  versionInfo,
  type ApplyResult,
  type ProgramList,
  type ProgramState,
  type VersionInfo,
} from "./api";
import {
  runtimeBlocks,
  runtimeFlows,
  runtimeStatus,
  type RuntimeBlocks,
  type RuntimeFlows,
  type RuntimeStatus,
} from "./runtime";

export interface AgentEndpoint {
  /** `https://host:port` of the node agent. */
  readonly url: string;
  readonly token: string;
  /** PEM of the CA that signed the agent's certificate (the agent's own certificate when self-signed). */
  readonly ca?: string;
  /** Per-request timeout. @default 30000 */
  readonly timeoutMs?: number;
}

/** A failed call: the HTTP status, the agent's message and its problem list. */
export class AgentError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: readonly { path: string; message: string }[] = [],
  ) {
    super(
      `${message}${problems.length ? `\n${problems.map((p) => `${p.path}: ${p.message}`).join("\n")}` : ""}`,
    );
    this.name = "AgentError";
  }
}

/**
 * Client of one node agent. The same code serves the CLI, the Pulumi dynamic
 * providers and the controller, so they cannot disagree about the protocol.
 */
export class AgentClient {
  constructor(private readonly endpoint: AgentEndpoint) {}

  /** PUT: applies the program atomically; resolves once the kernel holds it. */
  putProgram(program: NodeProgram): Promise<ApplyResult> {
    return this.call("PUT", `/programs/${encodeURIComponent(program.metadata.name)}`, applyResult, program);
  }

  /** GET: the stored program and the drift between it and the kernel; undefined if the agent has none by that name. */
  async getProgram(name: string): Promise<ProgramState | undefined> {
    try {
      return await this.call("GET", `/programs/${encodeURIComponent(name)}`, programState);
    } catch (error) {
      if (error instanceof AgentError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** DELETE: removes what the program owns; resolves to undefined when there was nothing to delete. */
  async deleteProgram(name: string): Promise<ApplyResult | undefined> {
    try {
      return await this.call("DELETE", `/programs/${encodeURIComponent(name)}`, applyResult);
    } catch (error) {
      if (error instanceof AgentError && error.status === 404) return undefined;
      throw error;
    }
  }

  listPrograms(): Promise<ProgramList> {
    return this.call("GET", "/programs", programList);
  }

  version(): Promise<VersionInfo> {
    return this.call("GET", "/version", versionInfo);
  }

  /** The flow table as inspection left it: application, class, DSCP, uplink, path per flow. */
  runtimeFlows(limit?: number): Promise<RuntimeFlows> {
    return this.call("GET", `/runtime/flows${limit === undefined ? "" : `?limit=${limit}`}`, runtimeFlows);
  }

  runtimeBlocks(): Promise<RuntimeBlocks> {
    return this.call("GET", "/runtime/blocks", runtimeBlocks);
  }

  runtimeStatus(): Promise<RuntimeStatus> {
    return this.call("GET", "/runtime/status", runtimeStatus);
  }

  private call<T extends z.ZodType>(
    method: string,
    path: string,
    schema: T,
    body?: unknown,
  ): Promise<z.output<T>> {
    const url = new URL(AGENT_API_PREFIX + path, this.endpoint.url);
    // Sent as the string: copying a 100k-entry program's JSON into a Buffer first costs ~10 ms.
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          ca: this.endpoint.ca,
          timeout: this.endpoint.timeoutMs ?? 30_000,
          headers: {
            authorization: `Bearer ${this.endpoint.token}`,
            accept: "application/json",
            ...(payload !== undefined
              ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              reject(
                new AgentError(
                  res.statusCode ?? 0,
                  `${method} ${url.pathname}: agent answered with non-JSON (${res.statusCode})`,
                ),
              );
              return;
            }
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              const err = apiError.safeParse(json);
              reject(
                new AgentError(
                  status,
                  `${method} ${url.pathname}: ${status} ${err.success ? err.data.error : text.slice(0, 200)}`,
                  err.success ? err.data.problems : [],
                ),
              );
              return;
            }
            const parsed = schema.safeParse(json);
            if (!parsed.success)
              reject(
                new AgentError(
                  status,
                  `${method} ${url.pathname}: unexpected response: ${parsed.error.message}`,
                ),
              );
            else resolve(parsed.data);
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () =>
        req.destroy(
          new Error(`${method} ${url.href}: no answer within ${this.endpoint.timeoutMs ?? 30_000} ms`),
        ),
      );
      req.on("error", reject);
      req.end(payload, "utf8");
    });
  }
}
