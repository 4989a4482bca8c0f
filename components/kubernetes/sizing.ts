/**
 * DESIGN.md: a sensor needs at least 1 CPU and 1 GiB of memory per 1 Gbit/s
 * it inspects, per engine, and never less than one of each. Limits equal
 * requests: a sensor in the Guaranteed QoS class is neither throttled below
 * its share nor evicted first under memory pressure, either of which would
 * silently drop inspected packets.
 */
export interface SensorResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

const BITS_PER_GBIT = 1e9;

export function sensorResources(expectedThroughputBps: number): SensorResources {
  const gbit = expectedThroughputBps / BITS_PER_GBIT;
  const millicores = Math.max(1000, Math.ceil(gbit * 1000));
  const mebibytes = Math.max(1024, Math.ceil(gbit * 1024));
  const amounts = { cpu: `${millicores}m`, memory: `${mebibytes}Mi` };
  return { requests: amounts, limits: amounts };
}
