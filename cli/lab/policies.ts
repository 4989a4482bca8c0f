import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compileSite, isPolicyDocument, type NodeProgram, type PolicyDocument } from "../../sdk/compile";
import { formatProblem, loadYamlDocuments, type Problem, type Site } from "../../sdk/schema";
import { matchesSelector } from "./selector";
import type { LabHost } from "./topology";

/** The lab's policy files, relative to the checkout: the DESIGN.md QoS and routing policies, then the lab's own. */
export const LAB_POLICY_FILES = ["examples/policies/design.yaml", "examples/lab/policies.yaml"] as const;
export const LAB_SITE_FILE = "examples/lab/site.yaml";

function load(root: string, file: string, problems: Problem[]) {
  const { documents, problems: found } = loadYamlDocuments(readFileSync(join(root, file), "utf8"), file);
  problems.push(...found);
  return documents;
}

/**
 * A DpiSensor's selector resolved to the addresses of the lab hosts it picks,
 * as the controller resolves it to pod addresses in a cluster: the data plane
 * only knows prefixes.
 */
export function resolveSensorSelector(doc: PolicyDocument, hosts: readonly LabHost[]): PolicyDocument {
  if (doc.kind !== "DpiSensor" || doc.spec.selector === undefined) return doc;
  const selector = doc.spec.selector;
  const picked = hosts.filter((h) => matchesSelector(h.labels, selector));
  const prefixes = picked.flatMap((h) => [`${h.address}/32`, ...(h.address6 ? [`${h.address6}/128`] : [])]);
  const spec = { ...doc.spec, prefixes: [...(doc.spec.prefixes ?? []), ...prefixes] };
  delete spec.selector;
  return { ...doc, spec };
}

export interface LabPolicies {
  readonly site: Site;
  readonly programs: NodeProgram[];
  /** Names of the hosts the sensor selector picked. */
  readonly selectedHosts: string[];
}

/** Loads the lab's site (for planning) and fails with `file: path: reason` lines when it is invalid. */
export function loadLabSite(root: string): Site {
  const problems: Problem[] = [];
  const site = load(root, LAB_SITE_FILE, problems).find((d) => d.document.kind === "Site")?.document;
  if (problems.length > 0 || !site || site.kind !== "Site")
    throw new Error(problems.map(formatProblem).join("\n") || `${LAB_SITE_FILE}: no Site document`);
  return site;
}

/**
 * The lab's programs: the same compileSite the Pulumi providers and the CLI
 * use, after the sensor selector is resolved against the lab's hosts.
 */
export function compileLabPolicies(root: string, site: Site, hosts: readonly LabHost[]): LabPolicies {
  const problems: Problem[] = [];
  const docs = LAB_POLICY_FILES.flatMap((f) => load(root, f, problems))
    .map((d) => d.document)
    .filter(isPolicyDocument);
  if (problems.length > 0) throw new Error(problems.map(formatProblem).join("\n"));
  const selectedHosts = new Set<string>();
  for (const doc of docs) {
    if (doc.kind !== "DpiSensor") continue;
    const selector = doc.spec.selector;
    for (const h of hosts) if (!selector || matchesSelector(h.labels, selector)) selectedHosts.add(h.name);
  }
  const compiled = compileSite(
    docs.map((d) => resolveSensorSelector(d, hosts)),
    site,
  );
  if (compiled.problems.length > 0)
    throw new Error(
      compiled.problems.map((p) => `${LAB_POLICY_FILES.join(", ")}: ${formatProblem(p)}`).join("\n"),
    );
  return { site, programs: compiled.programs, selectedHosts: [...selectedHosts] };
}
