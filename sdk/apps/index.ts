export type { Application } from "./application";
export { APPLICATIONS } from "./catalog";
export {
  applicationById,
  applicationFromNdpi,
  knownApplicationNames,
  lookupApplication,
  nearestApplicationNames,
  resolveApplications,
} from "./resolve";
