import {
  applicationFromHost,
  applicationFromNdpi,
  applicationFromSuricata,
  applicationFromZeek,
  type Application,
} from "../apps";
import type { Engine } from "../schema/dpi-sensor";

/**
 * The catalog name for what an engine calls a flow's application, if the
 * catalog knows it: the one place events meet the catalog. A generic web
 * protocol (`tls`, `HTTP`) gives way to the application the server name
 * belongs to, so a Suricata `tls` event with SNI `www.youtube.com` is youtube.
 */
export function catalogApplicationName(
  engine: Engine,
  engineName: string,
  serverName: string | undefined,
): string | undefined {
  const fromEngine = engineApplication(engine, engineName);
  if (fromEngine && fromEngine.category !== "web") return fromEngine.name;
  const fromHost = serverName === undefined ? undefined : applicationFromHost(serverName);
  return (fromHost ?? fromEngine)?.name;
}

/**
 * Name-resolution protocols. nDPI labels their flows with the application the
 * name belongs to (`DNS.NetFlix`), but the flow itself goes to a resolver:
 * taking it for a netflix flow would put the resolver's address in the
 * application -> destination cache and route every lookup via netflix's uplink.
 */
const RESOLUTION_MASTERS = new Set(["DNS", "MDNS", "LLMNR", "NetBIOS"]);

function engineApplication(engine: Engine, engineName: string): Application | undefined {
  switch (engine) {
    case "ndpi":
    case "nprobe": {
      const [master] = engineName.split(".");
      return applicationFromNdpi(
        engineName.includes(".") && RESOLUTION_MASTERS.has(master) ? master : engineName,
      );
    }
    case "suricata":
      return applicationFromSuricata(engineName);
    case "zeek":
      return applicationFromZeek(engineName);
  }
}
