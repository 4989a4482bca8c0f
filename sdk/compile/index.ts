export * from "./canonical";
export * from "./node-program";
export {
  compileProgram,
  compileSite,
  isPolicyDocument,
  programName,
  type PolicyDocument,
  type SiteCompilation,
} from "./program";
export { resolveClasses, skbPriority, type ResolvedClass } from "./qos";
export { resolveUplinks, type UplinkRoute } from "./routing";
export { nftTableName, BLOCK_SETS } from "./firewall";
