import { APPLICATIONS, applicationFromNdpi } from "@fos1/dpi/sdk/apps";
import type { Engine } from "./dpi-event";

/**
 * The catalog name for what an engine calls an application, if the catalog
 * knows it. The one place events meet the catalog: nDPI labels (also what
 * nProbe exports) go through the catalog's nDPI resolver; Suricata app-layer
 * and Zeek service names are matched against each entry's engine names.
 */
export function catalogApplicationName(engine: Engine, engineName: string): string | undefined {
  switch (engine) {
    case "ndpi":
    case "nprobe":
      return applicationFromNdpi(engineName)?.name;
    case "suricata":
      return APPLICATIONS.find((app) => app.suricata.includes(engineName.toLowerCase()))?.name;
    case "zeek":
      return APPLICATIONS.find((app) => app.zeek.includes(engineName.toLowerCase()))?.name;
  }
}
