import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ComponentArgsError } from "../base/component-error";
import { CONFIG_NAMESPACE, resolveSite, type SiteInput } from "../base/site-source";
import { AGENT_TOKEN_CONFIG } from "../providers/agent-credentials";
import { renderInstallScript, renderUninstallScript } from "./install-script";

export const PLAIN_LINUX_AGENT_TYPE = "fos1:dpi:PlainLinuxAgent";

export interface PlainLinuxAgentArgs {
  /** SSH connection to the router (host, user, private key); it runs the install as root. */
  readonly connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
  /** The site node this router is; its agent listens on the port of `spec.nodes[].agent.url`. */
  readonly node: string;
  /**
   * The site, as the policy components take it.
   * @default the stack config `fos1:site`
   */
  readonly site?: SiteInput;
  /**
   * Local path of the agent package: a .tgz of the built agent package's tree
   * (`dist/`, `node_modules/`, `native/build/`, `package.json`).
   */
  readonly agentPackage: string;
  /**
   * Local directory holding the compiled eBPF objects (`*.o`).
   * @default "bpf/build"
   */
  readonly bpfObjectsDir?: string;
  /** PEM of the agent's TLS certificate, signed by the CA in `fos1:agentCa`. */
  readonly tlsCertificate: pulumi.Input<string>;
  /** PEM of the certificate's key; sent on the install's stdin and kept secret in state. */
  readonly tlsKey: pulumi.Input<string>;
  /**
   * Remote directory the package and objects are copied to before the install.
   * @default "/var/tmp/fos1-dpi-install"
   */
  readonly stagingDir?: string;
}

const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

/**
 * The node agent on a router without Kubernetes: copies the agent package
 * and the eBPF objects over SSH, then runs the rendered install script
 * (`renderInstallScript`), which installs or upgrades only what changed and
 * restarts the service only then. The token (`fos1:agentToken`) and the TLS
 * key reach the router on the script's stdin, as secrets, never in its text.
 * Re-running `pulumi up` with nothing changed runs nothing.
 */
export class PlainLinuxAgent extends pulumi.ComponentResource {
  /** What the last install printed (`changed <path>` lines, `unchanged`). */
  readonly installOutput: pulumi.Output<string>;
  /** sha256 of the agent package and every eBPF object installed. */
  readonly artifacts: Record<string, string>;

  constructor(name: string, args: PlainLinuxAgentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PLAIN_LINUX_AGENT_TYPE, name, {}, opts);
    const fail = (path: string, message: string) => {
      throw new ComponentArgsError(PLAIN_LINUX_AGENT_TYPE, name, [{ path, message }]);
    };
    const site = resolveSite(PLAIN_LINUX_AGENT_TYPE, name, args.site);
    const node = site.spec.nodes.find((n) => n.name === args.node);
    if (!node)
      fail(
        "node",
        `the site has no node "${args.node}" (nodes: ${site.spec.nodes.map((n) => n.name).join(", ")})`,
      );
    const port = Number(new URL(node!.agent.url).port || 443);
    const token = new pulumi.Config(CONFIG_NAMESPACE).getSecret(AGENT_TOKEN_CONFIG.split(":")[1]);
    if (token === undefined)
      fail(AGENT_TOKEN_CONFIG, `required: pulumi config set --secret ${AGENT_TOKEN_CONFIG} <token>`);

    const stagingDir = args.stagingDir ?? "/var/tmp/fos1-dpi-install";
    const bpfDir = args.bpfObjectsDir ?? "bpf/build";
    let objects: string[] = [];
    try {
      objects = readdirSync(bpfDir)
        .filter((f) => f.endsWith(".o"))
        .sort();
    } catch (error) {
      fail(
        "bpfObjectsDir",
        `cannot read ${bpfDir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
    if (objects.length === 0)
      fail("bpfObjectsDir", `${bpfDir} holds no .o files: build them with make -C bpf`);
    let packageBytes = Buffer.alloc(0);
    try {
      packageBytes = readFileSync(args.agentPackage);
    } catch (error) {
      fail(
        "agentPackage",
        `cannot read ${args.agentPackage}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }

    const parent = { parent: this };
    this.artifacts = {
      "fos1-dpi-agent.tgz": sha256(packageBytes),
      ...Object.fromEntries(objects.map((o) => [`bpf/${o}`, sha256(readFileSync(join(bpfDir, o)))])),
    };
    const prepare = new command.remote.Command(
      `${name}-staging`,
      { connection: args.connection, create: `mkdir -p ${stagingDir}/bpf && chmod 0700 ${stagingDir}` },
      parent,
    );
    // A changed artifact is copied again (its trigger), and its hash in the install's environment re-runs the install.
    const copies = Object.entries(this.artifacts).map(
      ([file, hash]) =>
        new command.remote.CopyToRemote(
          `${name}-copy-${file.replace(/[^a-z0-9]+/gi, "-")}`,
          {
            connection: args.connection,
            source: new pulumi.asset.FileAsset(
              file === "fos1-dpi-agent.tgz" ? args.agentPackage : join(bpfDir, file.slice("bpf/".length)),
            ),
            remotePath: `${stagingDir}/${file}`,
            triggers: [hash],
          },
          { parent: this, dependsOn: [prepare] },
        ),
    );
    const script = pulumi
      .output(args.tlsCertificate)
      .apply((certificate) =>
        renderInstallScript({ site, node: args.node, port, certificate, stagingDir, bpfObjects: objects }),
      );
    const install = new command.remote.Command(
      `${name}-install`,
      {
        connection: args.connection,
        create: script,
        delete: renderUninstallScript(),
        stdin: pulumi.secret(pulumi.interpolate`${token!}\n${args.tlsKey}`),
        environment: { FOS1_ARTIFACTS: sha256(JSON.stringify(this.artifacts)) },
      },
      { parent: this, dependsOn: [prepare, ...copies] },
    );
    this.installOutput = install.stdout;
    this.registerOutputs({ installOutput: this.installOutput, artifacts: this.artifacts });
  }
}
