export * from "./policy/source";
export * from "./runtime";
