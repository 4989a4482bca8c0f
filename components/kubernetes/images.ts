import type { Engine } from "../../sdk/schema/dpi-sensor";
import { FOS1_VERSION } from "../base/labels";

/** Containers fos1-dpi runs: the agent (also the controller's image) and one per engine. */
export type ImageName = Engine | "agent";

export type Images = Readonly<Record<ImageName, string>>;

const REGISTRY = "ghcr.io/fos1";

/** The images of this release, one per folder of sensor-images/. */
export const DEFAULT_IMAGES: Images = {
  agent: `${REGISTRY}/fos1-dpi-agent:${FOS1_VERSION}`,
  suricata: `${REGISTRY}/fos1-suricata:${FOS1_VERSION}`,
  zeek: `${REGISTRY}/fos1-zeek:${FOS1_VERSION}`,
  nprobe: `${REGISTRY}/fos1-nprobe:${FOS1_VERSION}`,
  ndpi: `${REGISTRY}/fos1-ndpi:${FOS1_VERSION}`,
};
