import type * as pulumi from "@pulumi/pulumi";
import { hashMatches, nodeProgram } from "../../sdk/compile/node-program";
import { formatPath } from "../../sdk/schema/problem";
import { REPLACE_ON_CHANGE, type NodeProgramInputs, type NodeProgramOutputs } from "./node-program-inputs";

/** The value the engine passes for an input not known until apply (during preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/** The value at `path`, or UNKNOWN when it or anything on the way to it is not known yet. */
function valueAt(inputs: NodeProgramInputs, path: readonly string[]): unknown {
  let value: unknown = inputs;
  for (const key of path) {
    if (value === UNKNOWN) return UNKNOWN;
    value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/**
 * Validates new inputs with the agent API's own schema, so a program the agent
 * would refuse fails at preview with the path of the bad field. Values not
 * known yet (preview of a changed upstream output) are left to the apply.
 */
export function checkNodeProgram(news: NodeProgramInputs): pulumi.dynamic.CheckResult<NodeProgramInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const url = news.agentUrl;
  if (!containsUnknown(url) && (typeof url !== "string" || !/^https:\/\/[^/]+/.test(url))) {
    failures.push({
      property: "agentUrl",
      reason: "must be an https URL (the agent API carries credentials)",
    });
  }
  if (!containsUnknown(news.program)) {
    const parsed = nodeProgram.safeParse(news.program);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        failures.push({ property: formatPath(["program", ...issue.path]), reason: issue.message });
    } else if (!hashMatches(parsed.data)) {
      failures.push({ property: "program.hash", reason: "does not match the program's content" });
    }
  }
  return { inputs: news, failures };
}

/**
 * Pure: CI previews never reach the agents. A new agent, node or program
 * name is a different program, so it replaces; on the same agent the old one
 * goes first, since the agent refuses two programs claiming the same kernel
 * state (and a same-named create would be undone by the old one's delete).
 * Drift found by a refresh is repaired by an update. A node or name not
 * known until apply (a program compiled from unresolved Outputs) is left to
 * the diff the engine runs again at apply, when it is known.
 */
export function diffNodeProgram(
  olds: NodeProgramOutputs,
  news: NodeProgramInputs,
): pulumi.dynamic.DiffResult {
  const replaces = REPLACE_ON_CHANGE.filter((path) => {
    const next = valueAt(news, path);
    return next !== UNKNOWN && valueAt(olds, path) !== next;
  }).map((path) => path.join("."));
  const programChanged = containsUnknown(news.program) || olds.program?.hash !== news.program?.hash;
  const drifted = (olds.drift ?? []).length > 0;
  return {
    changes: replaces.length > 0 || programChanged || drifted,
    replaces,
    deleteBeforeReplace: replaces.length > 0 && olds.agentUrl === news.agentUrl,
  };
}
