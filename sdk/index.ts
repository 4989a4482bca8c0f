export * from "./apps";
export * from "./schema";
export * from "./compile";
export * from "./agent-api";
