import type { DpiSensor } from "../schema/dpi-sensor";
import { MAP_NAMES as MAP } from "../abi/constants";
import type { ConfigSettings, MapEntry, RuntimeTables } from "./node-program";

/**
 * Which traffic is mirrored to the sensors. With neither a selector nor
 * prefixes every flow is; with prefixes only flows with an endpoint inside
 * them are. A label selector is resolved to workload addresses where the
 * cluster is known (by the controller), not here.
 */
export function compileSensor(sensor: DpiSensor): {
  maps: Record<string, MapEntry[]>;
  config: ConfigSettings;
  runtime: RuntimeTables["sensor"];
} {
  const prefixes = [...new Set(sensor.spec.prefixes ?? [])].sort();
  return {
    maps: {
      [MAP.inspectSelect]: prefixes.map((prefix) => ({
        key: { prefix },
        value: { id: 1 },
        note: `inspect ${prefix}`,
      })),
    },
    config: {
      inspect_all: sensor.spec.selector === undefined && sensor.spec.prefixes === undefined,
      mirror_interface: sensor.spec.mirrorInterface,
    },
    runtime: { engines: [...sensor.spec.engines].sort(), selectPrefixes: prefixes },
  };
}
