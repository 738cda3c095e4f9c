export * from "./errors";
export * from "./model";
export * from "./net/cidr";
export * from "./net/ports";
export * from "./net/protocol";
export * from "./registry";
export * from "./report";
