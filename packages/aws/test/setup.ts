import { allCustomMatcher, type CustomMatcher } from "aws-sdk-client-mock-vitest";
import { expect } from "vitest";

expect.extend(allCustomMatcher);

declare module "vitest" {
  interface Matchers<R, T> extends CustomMatcher<R, T> {}
}
