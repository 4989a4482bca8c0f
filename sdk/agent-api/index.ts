export * from "./api";
export * from "./client";
export * from "./runtime";
