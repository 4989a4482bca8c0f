export * from "./apps";
