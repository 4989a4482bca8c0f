import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

/** One resource the program registered, with its inputs as the engine would receive them. */
export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const REPO = path.resolve(__dirname, "../..");
export const AGENT_TOKEN = "test-agent-token";

/** True when the value reaches the engine marked secret (so state stores it encrypted). */
export function isSecret(value: unknown): boolean {
  return value !== null && typeof value === "object" && SECRET_SIG in value;
}

/** Secrets as their plain value, for assertions and schema validation. */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (SECRET_SIG in record) return unwrapSecrets(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/**
 * Installs Pulumi mocks that record every registration. A NodeProgram's
 * state is what an agent that applied it reports: the program, no drift.
 */
export function recordRegistrations(): Registered[] {
  const registered: Registered[] = [];
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state = args.inputs.program
          ? { ...args.inputs, appliedAt: "2024-01-01T00:00:00Z", drift: [] }
          : args.inputs;
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "fos1-test",
    "test",
    true,
  );
  return registered;
}

/** Sets the stack config a site's stack would have. */
export function setStackConfig(config: Record<string, unknown>, secretKeys: string[] = []): void {
  pulumi.runtime.setAllConfig(
    Object.fromEntries(
      Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    ),
    secretKeys,
  );
}

/** Waits until the program has registered everything: no new registration for a few event-loop turns. */
export async function settle(registered: readonly unknown[]): Promise<void> {
  let stableTurns = 0;
  let last = -1;
  while (stableTurns < 5) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    stableTurns = registered.length === last ? stableTurns + 1 : 0;
    last = registered.length;
  }
}

/** Resolves an Output's value in a test. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

export function readYaml<T>(relativePath: string): T {
  return parse(fs.readFileSync(path.join(REPO, relativePath), "utf8")) as T;
}

/** The site of a Pulumi.<stack>.yaml, as its `fos1:site` config. */
export function stackConfig(relativePath: string): Record<string, unknown> {
  return readYaml<{ config: Record<string, unknown> }>(relativePath).config;
}

/** `x_kubernetes_*` as the Kubernetes provider sends it (`x-kubernetes-*`); undefined fields dropped. */
export function toWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k.startsWith("x_kubernetes_") ? k.replace(/_/g, "-") : k, toWire(v)]),
    );
  }
  return value;
}

/** What kubernetes-models said about one object: valid, the schema errors, or that it has no model. */
export interface ManifestVerdict {
  readonly kind: string;
  readonly name: string;
  readonly result: "valid" | "invalid" | "no-model";
  readonly errors: string[];
}

/**
 * kubernetes-models ships only as ES modules, which jest's CommonJS runtime
 * cannot load; a child node process validates the objects against the
 * Kubernetes OpenAPI schemas instead.
 */
const VALIDATOR = `
const objects = JSON.parse(await new Promise((resolve) => {
  let text = ""; process.stdin.on("data", (c) => (text += c)); process.stdin.on("end", () => resolve(text));
}));
const verdicts = [];
for (const object of objects) {
  const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : ["", object.apiVersion];
  const module = group ? \`kubernetes-models/\${group}/\${version}/\${object.kind}\` : \`kubernetes-models/v1/\${object.kind}\`;
  let Model;
  try { Model = (await import(module))[object.kind]; } catch { Model = undefined; }
  const verdict = { kind: object.kind, name: object.metadata?.name ?? "", result: "valid", errors: [] };
  if (!Model) verdict.result = "no-model";
  else {
    try { new Model(object).validate(); }
    catch (error) { verdict.result = "invalid"; verdict.errors = (error.errors ?? [error]).map((e) => \`\${e.instancePath ?? ""} \${e.message}\`); }
  }
  verdicts.push(verdict);
}
process.stdout.write(JSON.stringify(verdicts));
`;

export function validateManifests(objects: readonly unknown[]): ManifestVerdict[] {
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", VALIDATOR], {
    cwd: REPO,
    input: JSON.stringify(objects),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`validator failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as ManifestVerdict[];
}

/** The Kubernetes objects among the registrations, as sent to the API server. */
export function kubernetesObjects(registered: readonly Registered[]): Record<string, unknown>[] {
  return registered
    .filter((r) => r.type.startsWith("kubernetes:"))
    .map((r) => {
      const { apiVersion, kind, metadata, ...rest } = toWire(unwrapSecrets(r.inputs)) as Record<
        string,
        unknown
      >;
      return { apiVersion, kind, metadata, ...rest };
    });
}

/** `a.b[0].c` -> old => new, for every leaf that differs between two input trees. */
export function leafChanges(before: unknown, after: unknown, path = ""): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object";
  if (isObject(before) && isObject(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort((a, b) =>
      Array.isArray(before) ? Number(a) - Number(b) : a.localeCompare(b),
    );
    return keys.flatMap((key) =>
      leafChanges(
        before[key],
        after[key],
        Array.isArray(before) ? `${path}[${key}]` : path ? `${path}.${key}` : key,
      ),
    );
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const show = (v: unknown) => (v === undefined ? "(absent)" : JSON.stringify(v));
  return [`${path}: ${show(before)} => ${show(after)}`];
}

/** Registrations keyed by `type name`, inputs without the serialised provider (which never differs in meaning). */
export function byResource(registered: readonly Registered[]): Map<string, Record<string, unknown>> {
  return new Map(
    registered.map((r) => {
      const inputs = { ...(unwrapSecrets(r.inputs) as Record<string, unknown>) };
      delete inputs.__provider;
      return [`${r.type} ${r.name}`, inputs];
    }),
  );
}
