// The images' Dockerfiles, read by a small line parser (no Docker engine on
// the build machines): what each copies exists in its build context and is
// not ignored, stages are referenced correctly, bases carry a tag, every
// image has an entrypoint and says which user it runs as and why, and the
// agent image is built in stages with nothing but runtime tools in the last.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_IMAGES, type ImageName } from "@fos1/dpi/components/kubernetes/images";
import {
  NPROBE_LICENSE_DIR,
  NPROBE_LICENSE_KEY,
  SURICATA_RULES_UID,
} from "@fos1/dpi/components/kubernetes/sensors";
import { parseAgentConfig } from "@fos1/dpi/agent/src/config";
import { PROGRAMS } from "@fos1/dpi/sdk/abi/constants";
import { REPO } from "./components-harness";

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  /** The comment lines right above the instruction. */
  readonly comments: readonly string[];
}

interface Stage {
  readonly image: string;
  readonly name?: string;
  readonly instructions: readonly Instruction[];
}

interface Dockerfile {
  readonly stages: readonly Stage[];
  /** The `docker build` command its header documents. */
  readonly buildCommand: string;
}

/** Joins continuation lines, keeps each instruction's preceding comments, splits into stages, expands global ARGs in FROM. */
function parseDockerfile(path: string): Dockerfile {
  const globals: Record<string, string> = {};
  const stages: { image: string; name?: string; instructions: Instruction[] }[] = [];
  let comments: string[] = [];
  let buildCommand = "";
  let pending = "";
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const line = raw.trim();
    if (pending === "" && line.startsWith("#")) {
      const comment = line.replace(/^#\s?/, "");
      if (/docker build /.test(comment)) buildCommand = comment.slice(comment.indexOf("docker build "));
      comments.push(comment);
      continue;
    }
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const full = (pending + line).trim();
    pending = "";
    if (full === "") {
      comments = [];
      continue;
    }
    const [, keyword, args] = /^(\w+)\s+(.*)$/.exec(full) ?? [];
    if (!keyword) throw new Error(`${path}: cannot read "${full}"`);
    const instruction = { keyword: keyword.toUpperCase(), args, comments };
    comments = [];
    if (instruction.keyword === "ARG" && stages.length === 0) {
      const [name, value = ""] = args.split("=");
      globals[name] = value;
    } else if (instruction.keyword === "FROM") {
      const [image, as, name] = args.replace(/\$\{(\w+)\}/g, (_, v: string) => globals[v] ?? "").split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`${path}: ${keyword} before FROM`);
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { stages, buildCommand };
}

/** `docker build -t TAG [-f FILE] CONTEXT`, as the Dockerfile's header writes it. */
function buildOptions(command: string): { tag?: string; file?: string; context: string } {
  const words = command.split(/\s+/);
  const option = (flag: string) => {
    const i = words.indexOf(flag);
    return i >= 0 ? words[i + 1] : undefined;
  };
  return { tag: option("-t"), file: option("-f"), context: words[words.length - 1] };
}

/** Sources of a COPY without --from (everything but the last word and the flags). */
function copySources(instruction: Instruction): string[] {
  const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith("--"));
  return words.slice(0, -1);
}

const copyFrom = (i: Instruction) => /--from=(\S+)/.exec(i.args)?.[1];

/** Dockerfile-specific ignore file: `*` then `!path` exceptions, as BuildKit reads `<Dockerfile>.dockerignore`. */
function isSent(ignoreFile: string, source: string): boolean {
  if (!existsSync(ignoreFile)) return true;
  const included = readFileSync(ignoreFile, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("!"))
    .map((l) => l.slice(1));
  return included.some((p) => source === p || source.startsWith(`${p}/`) || p.startsWith(`${source}/`));
}

const IMAGE_NAMES: readonly ImageName[] = ["agent", "suricata", "zeek", "nprobe", "ndpi"];
const dockerfilePath = (image: ImageName) => join("sensor-images", image, "Dockerfile");
const dockerfiles = Object.fromEntries(
  IMAGE_NAMES.map((image) => [image, parseDockerfile(join(REPO, dockerfilePath(image)))]),
) as Record<ImageName, Dockerfile>;
const last = (d: Dockerfile) => d.stages[d.stages.length - 1];
const find = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);

describe.each(IMAGE_NAMES)("%s image", (image) => {
  const dockerfile = dockerfiles[image];
  const build = buildOptions(dockerfile.buildCommand);

  it("documents how it is built, from a context that exists", () => {
    expect(dockerfile.buildCommand).not.toBe("");
    expect(statSync(join(REPO, build.context)).isDirectory()).toBe(true);
    const file = build.file ?? join(build.context, "Dockerfile");
    expect(join(file)).toBe(dockerfilePath(image));
  });

  it("copies only what exists in its build context and is not ignored", () => {
    const ignore = join(REPO, `${dockerfilePath(image)}.dockerignore`);
    const stageNames = new Set<string>();
    for (const stage of dockerfile.stages) {
      for (const copy of find(stage, "COPY")) {
        const from = copyFrom(copy);
        if (from !== undefined) {
          expect({ copy: copy.args, earlierStage: stageNames.has(from) }).toEqual({
            copy: copy.args,
            earlierStage: true,
          });
          continue;
        }
        for (const source of copySources(copy)) {
          expect({ source, exists: existsSync(join(REPO, build.context, source)) }).toEqual({
            source,
            exists: true,
          });
          expect({ source, sent: isSent(ignore, source) }).toEqual({ source, sent: true });
        }
      }
      if (stage.name) stageNames.add(stage.name);
    }
  });

  it("builds on tagged bases, never latest", () => {
    for (const stage of dockerfile.stages) {
      expect(stage.image).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/);
      expect(stage.image).not.toMatch(/:latest$/);
    }
  });

  it("has an exec-form entrypoint whose script or program is in the image", () => {
    const [entrypoint] = find(last(dockerfile), "ENTRYPOINT");
    expect(entrypoint).toBeDefined();
    const argv = JSON.parse(entrypoint.args) as string[];
    const copies = dockerfile.stages.flatMap((s) => find(s, "COPY"));
    const target = argv[0] === "node" ? argv[1] : argv[0];
    const providedBy = copies.find((c) => {
      const words = c.args.split(/\s+/);
      const dest = words[words.length - 1];
      return dest === target || (dest.endsWith("/") && target.startsWith(dest));
    });
    if (argv[0] === "node") {
      // The agent's JavaScript, copied as a tree into the workdir: tsc maps agent/src/bin.ts there.
      const [workdir] = find(last(dockerfile), "WORKDIR").map((i) => i.args);
      const dist = find(last(dockerfile), "COPY").find((c) => c.args.endsWith(" agent/dist"));
      expect(dist).toBeDefined();
      expect(target).toBe(`${workdir}/agent/dist/agent/src/bin.js`);
      expect(existsSync(join(REPO, "agent", "src", "bin.ts"))).toBe(true);
      return;
    }
    expect({ target, copied: providedBy !== undefined }).toEqual({ target, copied: true });
    const source = copySources(providedBy!)[0];
    if (source.endsWith(".sh")) {
      expect(statSync(join(REPO, build.context, source)).mode & 0o111).not.toBe(0);
    }
  });
});

describe.each(["agent", "suricata", "zeek", "nprobe"] as const)("%s image (fos1's own)", (image) => {
  const dockerfile = dockerfiles[image];

  it("is tagged as the components deploy it", () => {
    const tag = buildOptions(dockerfile.buildCommand).tag!;
    const repository = (ref: string) => ref.slice(0, ref.lastIndexOf(":"));
    expect(repository(tag)).toBe(repository(DEFAULT_IMAGES[image]));
  });

  it("declares its user, and says why where it is root", () => {
    const users = find(last(dockerfile), "USER");
    expect(users).toHaveLength(1);
    const [user] = users;
    if (/^(0|root)(:(0|root))?$/.test(user.args)) {
      expect(user.comments.join(" ")).toMatch(/^Root, because .*capabilit/);
    }
  });
});

describe("agent image", () => {
  const dockerfile = dockerfiles.agent;
  const stage = (name: string) => dockerfile.stages.find((s) => s.name === name)!;
  const runs = (s: Stage) => find(s, "RUN").map((i) => i.args);
  const aptInstalled = (s: Stage) =>
    runs(s)
      .flatMap((r) => [...r.matchAll(/apt-get install ((?:-\S+ |-t \S+ )*)([^&]+)/g)].map((m) => m[2]))
      .flatMap((list) => list.trim().split(/\s+/));

  it("builds in stages: the eBPF objects, the libbpf addon and the agent in one, the runtime apart", () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    const build = stage("build");
    expect(aptInstalled(build)).toEqual(expect.arrayContaining(["clang", "llvm", "libbpf-dev"]));
    const script = runs(build).join("\n");
    expect(script).toContain("make -C bpf");
    expect(script).toContain("npm run -w agent build:native");
    expect(script).toContain("npm run -w agent build");
  });

  it("runs with only runtime tools: bpftool, nftables, iproute2, and no compiler or headers", () => {
    const runtime = last(dockerfile);
    const packages = aptInstalled(runtime);
    expect(packages).toEqual(expect.arrayContaining(["bpftool", "nftables", "iproute2"]));
    expect(packages.filter((p) => /^(clang|llvm|gcc|g\+\+|make)$|-dev$/.test(p))).toEqual([]);
    expect(find(runtime, "COPY").every((c) => copyFrom(c) !== undefined)).toBe(true);
  });

  it("puts every eBPF object the agent loads where its config looks by default", () => {
    const { objectsDir } = parseAgentConfig(
      "node: n\ntls: { certFile: c, keyFile: k }\ntokenFile: t\ninterfaces: { uplinks: { isp1: wan1 }, lan: [lan0] }\n",
      "agent.yaml",
    ).bpf;
    const copy = find(last(dockerfile), "COPY").find((c) => c.args.endsWith(` ${objectsDir}/`));
    expect(copy).toBeDefined();
    const objects = copySources(copy!).map((s) => s.split("/").pop());
    expect(objects.sort()).toEqual(
      Object.values(PROGRAMS)
        .map((p) => p.object)
        .sort(),
    );
  });
});

describe("sensor images", () => {
  it("suricata: the rule fetch's unprivileged user is the uid the pod runs it as", () => {
    const script = last(dockerfiles.suricata)
      .instructions.map((i) => i.args)
      .join("\n");
    expect(script).toContain(`useradd --system --uid ${SURICATA_RULES_UID} `);
    expect(script).toMatch(
      /apt-get install -y --no-install-recommends -t bookworm-backports suricata suricata-update/,
    );
  });

  it("nprobe: /etc/nprobe.license links into the licence Secret's mount", () => {
    const links = find(last(dockerfiles.nprobe), "RUN").map(
      (i) => /ln -sf (\S+) \/etc\/nprobe\.license/.exec(i.args)?.[1],
    );
    expect(links.filter(Boolean)).toEqual([`${NPROBE_LICENSE_DIR}/${NPROBE_LICENSE_KEY}`]);
  });
});
