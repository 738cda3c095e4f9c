// Only `export *` here: one named re-export makes esbuild load every report module a later chunk
// uses at an event function's init (test/reliability/event-init-path.test.ts).
export * from "./audit";
export * from "./chain";
export * from "./decision";
export * from "./digest";
export * from "./exemption";
export * from "./exposure";
export * from "./flap";
export * from "./links";
export * from "./message";
export * from "./ocsf";
export * from "./posture";
export * from "./security-hub";
export * from "./slack";
export * from "./sweep";
export * from "./view";
