import { Ec2ApiError } from "../errors";
import { filterMatches, readFilters } from "../query";
import { type XmlObject, xmlList } from "../xml";
import type { ActionContext } from "./common";

/** A Region as DescribeRegions answers it: enabled, or opt-in and not opted in. */
export interface SandboxRegion {
  readonly name: string;
  /** `opt-in-not-required` | `opted-in` | `not-opted-in`. */
  readonly optInStatus: "opt-in-not-required" | "opted-in" | "not-opted-in";
}

/**
 * The Regions the sandbox's accounts see: the Regions enabled by default (opt-in not required),
 * and some opt-in Regions not opted in.
 */
export const DEFAULT_SANDBOX_REGIONS: readonly SandboxRegion[] = [
  ...[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
  ].map((name) => ({ name, optInStatus: "opt-in-not-required" as const })),
  ...["af-south-1", "ap-east-1", "ap-south-2", "eu-south-1", "me-south-1", "me-central-1"].map(
    (name) => ({ name, optInStatus: "not-opted-in" as const }),
  ),
];

/**
 * DescribeRegions: the enabled Regions (opt-in not required, or opted in), or every Region with
 * `AllRegions=true`; `RegionName.N` and the `region-name`, `opt-in-status` and `endpoint`
 * filters narrow them. An unknown Region name is `InvalidParameterValue`.
 */
export function describeRegions(ctx: ActionContext): XmlObject {
  const { params } = ctx;
  const regions = ctx.regions ?? DEFAULT_SANDBOX_REGIONS;
  const names = params.list("RegionName");
  for (const n of names) {
    if (!regions.some((r) => r.name === n)) {
      throw new Ec2ApiError("InvalidParameterValue", `Invalid region: ${n}`);
    }
  }
  const all = params.bool("AllRegions") === true || names.length > 0;
  const filters = readFilters(params);
  const endpoint = (r: SandboxRegion) => `ec2.${r.name}.amazonaws.com`;
  const shown = regions.filter(
    (r) =>
      (all || r.optInStatus !== "not-opted-in") &&
      (names.length === 0 || names.includes(r.name)) &&
      filters.every((f) => {
        const actual =
          f.name === "region-name"
            ? r.name
            : f.name === "opt-in-status"
              ? r.optInStatus
              : f.name === "endpoint"
                ? endpoint(r)
                : undefined;
        if (actual === undefined) {
          throw new Ec2ApiError("InvalidParameterValue", `The filter '${f.name}' is invalid`);
        }
        return filterMatches(f.values, actual);
      }),
  );
  return {
    regionInfo: xmlList(
      shown.map((r) => ({
        regionName: r.name,
        regionEndpoint: endpoint(r),
        optInStatus: r.optInStatus,
      })),
    ),
  };
}
