import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Node, Project, type ClassDeclaration, type InterfaceDeclaration, type JSDoc } from "ts-morph";
import { REPO } from "./components-harness";

/**
 * components/API.md is generated from the exported Args interfaces and the
 * component classes' comments. This test regenerates it and fails when the
 * committed file differs; `UPDATE_API_REFERENCE=1` rewrites it.
 */
const COMPONENTS: readonly [component: string, args: string][] = [
  ["DpiSensor", "DpiSensorArgs"],
  ["QosPolicy", "QosPolicyArgs"],
  ["AppRoutingPolicy", "AppRoutingPolicyArgs"],
  ["FirewallFastPath", "FirewallFastPathArgs"],
];
const REFERENCE = join(REPO, "components", "API.md");

function docText(docs: readonly JSDoc[]): { description: string; defaultValue?: string } {
  const doc = docs[docs.length - 1];
  if (!doc) return { description: "" };
  const defaultTag = doc.getTags().find((t) => t.getTagName() === "default");
  return {
    description: (doc.getDescription() ?? "").trim().replace(/\s*\n\s*/g, " "),
    defaultValue: defaultTag?.getCommentText()?.trim(),
  };
}

/**
 * The class and the classes of this repository it extends, most derived first:
 * outputs a shared base class declares are the component's too (Pulumi's own are not).
 */
function classChain(cls: ClassDeclaration): ClassDeclaration[] {
  const chain = [cls];
  for (
    let base = cls.getBaseClass();
    base && !base.getSourceFile().isInNodeModules();
    base = base.getBaseClass()
  )
    chain.push(base);
  return chain;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();
}

function argsTable(args: InterfaceDeclaration): string[] {
  const rows = ["| argument | type | default | description |", "| --- | --- | --- | --- |"];
  const properties = args.getType().getProperties();
  for (const symbol of properties) {
    const declaration = symbol.getDeclarations().find(Node.isPropertySignature);
    if (!declaration) continue;
    const { description, defaultValue } = docText(declaration.getJsDocs());
    const type = declaration.getTypeNode()?.getText() ?? declaration.getType().getText(declaration);
    const required = !declaration.hasQuestionToken();
    rows.push(
      `| \`${symbol.getName()}\` | \`${cell(type)}\` | ${required ? "required" : cell(defaultValue ?? "")} | ${cell(description)} |`,
    );
  }
  return rows;
}

function renderReference(): string {
  const project = new Project({
    tsConfigFilePath: join(REPO, "tsconfig.json"),
    skipAddingFilesFromTsConfig: true,
  });
  const index = project.addSourceFileAtPath(join(REPO, "components", "index.ts"));
  project.resolveSourceFileDependencies();
  const exported = index.getExportedDeclarations();
  const lines = [
    "# fos1-dpi components: API reference",
    "",
    "Generated from the exported Args interfaces by `test/unit/components-api-reference.test.ts`",
    "(`UPDATE_API_REFERENCE=1 npx jest --selectProjects unit test/unit/components-api-reference.test.ts`). Do not edit by hand.",
    "",
    "Every component also takes Pulumi's `ComponentResourceOptions` (providers, aliases, dependsOn).",
    "Stack config: `fos1:site` (the Site document, unless `site` is passed), `fos1:agentToken` (secret),",
    "`fos1:agentCa` (secret, the agents' CA when not a public one).",
    "",
  ];
  for (const [component, argsName] of COMPONENTS) {
    const cls = exported.get(component)?.find(Node.isClassDeclaration);
    const args = exported.get(argsName)?.find(Node.isInterfaceDeclaration);
    if (!cls || !args) throw new Error(`components/index.ts must export ${component} and ${argsName}`);
    const doc = cls.getJsDocs()[0];
    lines.push(`## ${component}`, "", (doc?.getDescription() ?? "").trim(), "", `### ${argsName}`, "");
    lines.push(...argsTable(args), "");
    const outputs = classChain(cls)
      .flatMap((c) => c.getProperties())
      .filter((p) => p.isReadonly() && p.getScope() === "public")
      .map((p) => `| \`${p.getName()}\` | ${cell(docText(p.getJsDocs()).description)} |`);
    lines.push("### Outputs", "", "| output | description |", "| --- | --- |", ...outputs, "");
  }
  return lines.join("\n");
}

describe("components/API.md", () => {
  it("is the reference generated from the current Args interfaces", () => {
    const text = renderReference();
    if (process.env.UPDATE_API_REFERENCE) writeFileSync(REFERENCE, text);
    expect(readFileSync(REFERENCE, "utf8")).toBe(text);
  }, 120_000);
});
