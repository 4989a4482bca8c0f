export * from "./netns";
