export * from "./apps";
export * from "./schema";
export * from "./compile";
export * from "./agent-api";
export * from "./decide";
export * from "./simulate";
export * from "./report";
export * from "./events";
