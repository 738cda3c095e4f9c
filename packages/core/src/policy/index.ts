export * from "./runtime";
export * from "./source";
