export * from "./blocks";
export * from "./interaction";
export * from "./signature";
