import { AGENT_API_PREFIX } from "../../../sdk/agent-api/api";
import { RUNTIME_FLOWS_DEFAULT_LIMIT, RUNTIME_FLOWS_MAX_LIMIT } from "../../../sdk/agent-api/runtime";
import type { RuntimeView } from "../runtime/runtime-view";

export type RuntimeReply = { readonly body: unknown } | { readonly status: number; readonly error: string };

/** `GET /v1/runtime/{flows,blocks,status}`; undefined for any other path. */
export function runtimeRoute(view: RuntimeView, path: string, url: string): RuntimeReply | undefined {
  const what = path.slice(`${AGENT_API_PREFIX}/runtime/`.length);
  if (what === "status") return { body: view.status() };
  if (what !== "flows" && what !== "blocks") return undefined;
  if (!view.available) return { status: 503, error: "the eBPF data plane is off: there is no flow table" };
  if (what === "blocks") return { body: view.blocks() };
  const raw = new URL(url, "https://agent.invalid").searchParams.get("limit");
  const limit = raw === null ? RUNTIME_FLOWS_DEFAULT_LIMIT : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > RUNTIME_FLOWS_MAX_LIMIT) {
    return { status: 400, error: `limit must be an integer from 1 to ${RUNTIME_FLOWS_MAX_LIMIT}` };
  }
  return { body: view.flows(limit) };
}
