export * from "./app";
export * from "./audit";
export * from "./blocks";
export * from "./interaction";
export * from "./signature";
