export * from "./flap";
export * from "./render";
export { type DemoOptions, type DemoReport, runDemo, type ScenarioReport } from "./runner";
export * from "./scenarios";
export {
  SERVE_PORTS,
  SERVE_REGIONS,
  type ServeOptions,
  type ServeSummary,
  serveSandbox,
} from "./serve";
