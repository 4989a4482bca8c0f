import { formatProblem, type Problem } from "../../sdk/schema/problem";

/**
 * Thrown when a component's arguments are invalid. The message names the
 * component type and resource name, then one `path: reason` line per problem,
 * with paths as written in the policy document (`spec.classes[0].priority`).
 */
export class ComponentArgsError extends Error {
  constructor(
    readonly component: string,
    readonly resourceName: string,
    readonly problems: readonly Problem[],
  ) {
    super(`${component} "${resourceName}": invalid arguments\n${problems.map(formatProblem).join("\n")}`);
    this.name = "ComponentArgsError";
  }
}
