import * as path from "node:path";

/**
 * A `require` specifier for one of this package's modules that stays valid
 * where the dynamic provider runs. Pulumi serialises provider methods into
 * state; a method that requires by package path (`@fos1/dpi/dist/...`) works
 * on any machine with the package installed, so that form is used whenever
 * the module lives under node_modules. In a checkout of this repository the
 * absolute path is the only thing that resolves.
 */
export function stableModuleSpecifier(resolvedFile: string): string {
  const withoutExtension = resolvedFile.replace(/\.(ts|js)$/, "");
  const marker = `${path.sep}node_modules${path.sep}`;
  const at = withoutExtension.lastIndexOf(marker);
  if (at < 0) return withoutExtension;
  return withoutExtension
    .slice(at + marker.length)
    .split(path.sep)
    .join("/");
}
