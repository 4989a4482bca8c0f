import { spawn, type ChildProcess } from "node:child_process";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";

const root = join(__dirname, "..", "..", "..");
const agentBin = join(root, "agent", "src", "bin.ts");

/**
 * A loopback TCP port that relays to the agent's unix socket, so tests reach an
 * agent inside a namespace without any link between that namespace and the
 * host's. `open` collects the relayed connections so teardown can close them.
 */
export async function startSocketRelay(
  socket: string,
  open: Set<Socket>,
): Promise<{ server: Server; port: number }> {
  const server = createServer((client) => {
    open.add(client);
    client.on("close", () => open.delete(client));
    const upstream = connect(socket);
    client.pipe(upstream).pipe(client);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** Runs the agent from source inside `ns` with `configFile`; its stdout and stderr go to `onOutput`. */
export function spawnAgent(ns: string, configFile: string, onOutput: (text: string) => void): ChildProcess {
  const child = spawn(
    "ip",
    ["netns", "exec", ns, process.execPath, "--import", "tsx", agentBin, "--config", configFile],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout!.on("data", (d: Buffer) => onOutput(d.toString()));
  child.stderr!.on("data", (d: Buffer) => onOutput(d.toString()));
  return child;
}
