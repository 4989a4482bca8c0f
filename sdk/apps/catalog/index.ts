import type { Application } from "../application";
import { BUSINESS } from "./business";
import { CLOUD } from "./cloud";
import { DATABASE } from "./database";
import { EMAIL } from "./email";
import { FILE_TRANSFER } from "./file-transfer";
import { GAMING } from "./gaming";
import { INDUSTRIAL } from "./industrial";
import { MESSAGING } from "./messaging";
import { NETWORK_SERVICES } from "./network-services";
import { P2P } from "./p2p";
import { PLATFORM } from "./platform";
import { REMOTE_ACCESS } from "./remote-access";
import { SHOPPING } from "./shopping";
import { SOCIAL } from "./social";
import { STORAGE } from "./storage";
import { STREAMING } from "./streaming";
import { VIDEO_CONFERENCING } from "./video-conferencing";
import { VOIP } from "./voip";
import { VPN } from "./vpn";
import { WEB } from "./web";

/**
 * The application catalog, one file per category. Ids are stable forever: a new
 * entry takes an id above the highest in use, entries are never renumbered and a
 * removed entry's id is never reused, because ids live in pinned eBPF maps on
 * running routers. Each engine name belongs to at most one application, so a
 * sensor's report maps to one application without ambiguity.
 */
export const APPLICATIONS: readonly Application[] = [
  ...WEB,
  ...STREAMING,
  ...VOIP,
  ...VIDEO_CONFERENCING,
  ...MESSAGING,
  ...SOCIAL,
  ...EMAIL,
  ...STORAGE,
  ...FILE_TRANSFER,
  ...P2P,
  ...VPN,
  ...GAMING,
  ...BUSINESS,
  ...REMOTE_ACCESS,
  ...NETWORK_SERVICES,
  ...DATABASE,
  ...INDUSTRIAL,
  ...CLOUD,
  ...PLATFORM,
  ...SHOPPING,
];
