import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../packages/cli/test/bin";
import { PACKAGES, scanRepository, specifiers, unusedExceptions, violations } from "./imports";

describe("import directions", () => {
  it("no package's production code imports against the allowed directions", () => {
    expect(scanRepository(REPO_ROOT)).toEqual([]);
  });

  it("allows no exception that its file no longer needs", () => {
    expect(unusedExceptions(REPO_ROOT)).toEqual([]);
  });

  it("reads static, re-exported, side-effect and dynamic imports, not comments", () => {
    const text = [
      'import { a } from "one";',
      "import type {",
      "  B,",
      '} from "two";',
      'export * from "three";',
      'import "four";',
      'const m = await import("five");',
      '// import { x } from "commented";',
      '/** `import("documented")` */',
      'const six = require("six");',
      "const seven = await import(`seven`);",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a source text with a computed import
      "const computed = await import(`./${name}`);",
    ].join("\n");
    expect(specifiers(text).sort()).toEqual([
      "five",
      "four",
      "one",
      "seven",
      "six",
      "three",
      "two",
    ]);
  });
});

describe("the import-direction check", () => {
  const root = mkdtempSync(join(tmpdir(), "guardrail-imports-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const plant = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  it("catches forbidden imports planted in a repository", () => {
    plant("packages/core/src/pure.ts", 'import { createEc2Gateway } from "@guardrail/aws";\n');
    plant("functions/src/sdk.ts", 'const sts = await import("@aws-sdk/client-sts");\n');
    plant("packages/cli/src/commands/scan.ts", 'import { x } from "@guardrail/functions";\n');
    plant("packages/cli/src/commands/spoke.ts", 'import { y } from "../../../../stacks/spoke";\n');
    plant("stacks/settings.ts", 'import { z } from "../packages/core/src/errors";\n');
    plant("packages/aws/src/ok.ts", 'import { EC2Client } from "@aws-sdk/client-ec2";\n');
    plant(
      "packages/aws/src/late.ts",
      'const { SNSClient } = await import("@aws-sdk/client-sns");\n',
    );
    plant("packages/aws/src/sdk-late.ts", 'const { SNSClient } = await import("./sdk/sns");\n');
    plant("packages/cli/src/commands/sandbox.ts", 'await import("@guardrail/sandbox/demo");\n');
    plant("packages/cli/src/legacy.cjs", 'const f = require("@guardrail/functions");\n');
    plant("packages/core/src/view.tsx", "const a = await import(`@guardrail/aws`);\n");
    expect(scanRepository(root).sort()).toEqual([
      'functions/src/sdk.ts: "@aws-sdk/client-sts": only aws and sandbox import the AWS SDK',
      'packages/aws/src/late.ts: import("@aws-sdk/client-sns") keeps every command of the service; load packages/aws/src/sdk/<service>.ts',
      'packages/cli/src/commands/scan.ts: "@guardrail/functions": cli may import core, aws, templates',
      'packages/cli/src/commands/spoke.ts: "../../../../stacks/spoke" reaches into infra by a path; import it by name',
      'packages/cli/src/legacy.cjs: "@guardrail/functions": cli may import core, aws, templates',
      'packages/core/src/pure.ts: "@guardrail/aws": core may import nothing of ours',
      'packages/core/src/view.tsx: "@guardrail/aws": core may import nothing of ours',
      'stacks/settings.ts: "../packages/core/src/errors" reaches into core by a path; import it by name',
    ]);
  });

  it("lets tests and files outside the packages import anything", () => {
    expect(violations("packages/cli/test/x.test.ts", 'import "@guardrail/functions";')).toEqual([]);
    expect(violations("bench/x.ts", 'import "@aws-sdk/client-ec2";')).toEqual([]);
  });
});

describe("Biome's noRestrictedImports", () => {
  interface Override {
    includes: string[];
    linter?: {
      rules?: {
        style?: { noRestrictedImports?: { options: { patterns: { group: string[] }[] } } };
      };
    };
  }
  const biome = JSON.parse(readFileSync(join(REPO_ROOT, "biome.json"), "utf8")) as {
    overrides: Override[];
  };
  const forbidden = (root: string) => {
    const override = biome.overrides.find((o) => o.includes.includes(`${root}/**`));
    const patterns = override?.linter?.rules?.style?.noRestrictedImports?.options.patterns ?? [];
    return new Set(patterns.flatMap((p) => p.group));
  };

  it.each(Object.entries(PACKAGES))(
    "forbids %s every package the directions do not allow, by name and by path",
    (id, p) => {
      const groups = forbidden(p.root);
      const others = Object.entries(PACKAGES).filter(
        ([other]) => other !== id && !(p.may as readonly string[]).includes(other),
      );
      for (const [, o] of others) {
        if (o.name !== null)
          expect([...groups]).toEqual(expect.arrayContaining([o.name, `${o.name}/**`]));
      }
      expect([...groups]).toEqual(
        expect.arrayContaining(["**/packages/**", "**/functions/src/**"]),
      );
    },
  );
});
