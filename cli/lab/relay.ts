import { writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";

/**
 * A loopback TCP port relaying to the agent's unix socket, so the CLI (and
 * `fos1-dpi apply --agent`) reaches the agent inside the router namespace
 * without any link between that namespace and the host's. Run by `lab up` as
 * its own process: `relay.ts SOCKET PORT_FILE`; writes the port it got.
 */
export function startRelay(socket: string, portFile: string): void {
  const server = createServer((client) => {
    const upstream = connect(socket);
    client.pipe(upstream).pipe(client);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  server.listen(0, "127.0.0.1", () => {
    writeFileSync(portFile, String((server.address() as { port: number }).port));
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}

if (require.main === module) {
  const [socket, portFile] = process.argv.slice(2);
  if (!socket || !portFile) {
    process.stderr.write("usage: relay SOCKET PORT_FILE\n");
    process.exit(2);
  }
  startRelay(socket, portFile);
}
