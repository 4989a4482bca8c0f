import type * as pulumi from "@pulumi/pulumi";
import { stableModuleSpecifier } from "./module-path";
import type { NodeProgramInputs, NodeProgramOutputs } from "./node-program-inputs";

type Operations = typeof import("./node-program-operations");

const OPERATIONS_MODULE = stableModuleSpecifier(require.resolve("./node-program-operations"));

/**
 * Loaded inside each method, not captured: Pulumi serialises the methods
 * into state and runs them in the provider process, where a captured module
 * would be serialised by value (zod schemas, the HTTPS client) and break.
 */
function operations(): Operations {
  return require(OPERATIONS_MODULE) as Operations;
}

/**
 * CRUD of one NodeProgram on one node agent, through the same AgentClient
 * the CLI and the controller use. `check` and `diff` are pure; credentials
 * arrive through `configure` from stack config, never through inputs.
 */
export const nodeProgramProvider: pulumi.dynamic.ResourceProvider<NodeProgramInputs, NodeProgramOutputs> = {
  async configure(req) {
    operations().configure(req.config);
  },
  async check(_olds, news) {
    return operations().check(news);
  },
  async diff(_id, olds, news) {
    return operations().diff(olds, news);
  },
  async create(inputs) {
    return operations().create(inputs);
  },
  async read(id, props) {
    return operations().read(id, props);
  },
  async update(id, olds, news) {
    return operations().update(id, olds, news);
  },
  async delete(id, props) {
    return operations().remove(id, props);
  },
};
