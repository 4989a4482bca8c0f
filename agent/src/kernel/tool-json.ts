import type { z } from "zod";

/** A tool printed something the agent does not understand: which tool, where in its output, and why. */
export class ToolOutputError extends Error {
  constructor(
    readonly tool: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${tool}: unexpected output at ${path || "(top)"}: ${reason}`);
    this.name = "ToolOutputError";
  }
}

/** Parses a tool's `-j` output against the schema of the fields the agent relies on. */
export function parseToolJson<T extends z.ZodType>(schema: T, text: string, tool: string): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ToolOutputError(tool, "", `not JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ToolOutputError(tool, formatPath(issue.path), issue.message);
  }
  return parsed.data;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
    .join("")
    .replace(/^\./, "");
}
