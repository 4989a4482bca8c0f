import {
  applicationFromHost,
  applicationFromNdpi,
  applicationFromSuricata,
  applicationFromZeek,
  type Application,
} from "@fos1/dpi/sdk/apps";
import type { Engine } from "@fos1/dpi/sdk/schema/dpi-sensor";

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

function engineApplication(engine: Engine, engineName: string): Application | undefined {
  switch (engine) {
    case "ndpi":
    case "nprobe":
      return applicationFromNdpi(engineName);
    case "suricata":
      return applicationFromSuricata(engineName);
    case "zeek":
      return applicationFromZeek(engineName);
  }
}
