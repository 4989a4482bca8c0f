export * from "./apps";
export * from "./schema";
export * from "./compile";
