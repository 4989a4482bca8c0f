import type { z } from "zod";

/** One reason a document was rejected, at one place in it. */
export interface Problem {
  /** Where, written as in `spec.classes[0].applications[1]` (empty for the document itself). */
  readonly path: string;
  readonly message: string;
  /** Set when the problem was found in a file: the file, and the 1-based line and column of the value. */
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

export type PathSegment = string | number;

/** `["spec", "classes", 0, "name"]` -> `spec.classes[0].name`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/** `path: reason`, with the file position in front when known: `site.yaml:12:9: spec.uplinks[0].gateway: ...`. */
export function formatProblem(problem: Problem): string {
  const where = problem.file
    ? `${problem.file}${problem.line ? `:${problem.line}:${problem.column ?? 1}` : ""}: `
    : "";
  return `${where}${problem.path || "(document)"}: ${problem.message}`;
}

/** Zod's issues as problems, under `prefix`, with messages an operator reads without knowing zod. */
export function problemsFromZod(error: z.ZodError, prefix: readonly PathSegment[] = []): Problem[] {
  return error.issues.map((issue) => ({
    path: formatPath([...prefix, ...issue.path]),
    message: messageFor(issue),
  }));
}

function messageFor(issue: z.core.$ZodIssue): string {
  // Zod reports a missing field as a type error whose input was undefined; it does not keep the input itself.
  if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) return "required";
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => `"${k}"`).join(", ");
    return `unknown field${issue.keys.length > 1 ? "s" : ""} ${keys}`;
  }
  return issue.message;
}

/** Thrown by the `parse*` helpers; carries every problem, not only the first. */
export class ValidationError extends Error {
  constructor(
    readonly problems: readonly Problem[],
    context?: string,
  ) {
    super(
      `${context ? `${context}: ` : ""}${problems.length} problem(s)\n${problems.map(formatProblem).join("\n")}`,
    );
    this.name = "ValidationError";
  }
}
