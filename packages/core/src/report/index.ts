export * from "./audit";
export * from "./decision";
export * from "./exposure";
export * from "./links";
export * from "./message";
export * from "./slack";
export * from "./sweep";
export * from "./view";
