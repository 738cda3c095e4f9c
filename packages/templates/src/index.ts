export * from "./naming";
export * from "./permissions";
export * from "./scp";
export * from "./spoke-template";
export * from "./sweep-fanout";
