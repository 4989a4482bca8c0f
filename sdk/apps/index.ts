export type { Application } from "./application";
export { APPLICATIONS } from "./catalog";
export { CATEGORIES, type Category, type CategoryName } from "./categories";
export { applicationFromNdpi, applicationFromSuricata, applicationFromZeek } from "./engines";
export { applicationFromHost } from "./host";
export { NDPI_UNMAPPED } from "./ndpi-unmapped";
export {
  applicationById,
  applicationsInCategory,
  knownApplicationNames,
  lookupApplication,
  nearestApplicationNames,
  resolveApplications,
} from "./resolve";
export { SURICATA_APP_PROTOCOLS } from "./suricata-app-protocols";
export { ZEEK_SERVICES } from "./zeek-services";
