#!/usr/bin/env node
// `npm test` needs one tool that npm cannot provide: the aws CLI (botocore), which the
// end-to-end tests drive against the sandbox as a second opinion on every EC2 element name.
// Debian ships it as the `awscli` package. As root this installs it; otherwise it stops at once
// and prints the exact command, so that no test is ever skipped for want of it.
// (The browser for the HTML report test comes from npm: @sparticuz/chromium.)
//
// Usage: node scripts/require-tools.mjs
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Debian's aws CLI; another `aws` earlier on PATH (a pip install, v2) is not what is tested. */
const AWS_CLI = "/usr/bin/aws";
const APT_INSTALL = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "awscli"];

if (!existsSync(AWS_CLI)) {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot) {
    console.error(
      `npm test needs the aws CLI at ${AWS_CLI} (Debian's awscli package). Install it with:\n\n` +
        `  sudo apt-get update && sudo ${APT_INSTALL.join(" ")}\n`,
    );
    process.exit(1);
  }
  console.log(`[require-tools] ${AWS_CLI} is missing: installing Debian's awscli`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const cmd of [["apt-get", "update", "-qq"], APT_INSTALL]) {
    const r = spawnSync(cmd[0], cmd.slice(1), { stdio: "inherit", env });
    if (r.status !== 0) {
      console.error(`[require-tools] \`${cmd.join(" ")}\` failed (exit ${r.status ?? r.signal})`);
      process.exit(1);
    }
  }
  if (!existsSync(AWS_CLI)) {
    console.error(`[require-tools] apt-get installed awscli but ${AWS_CLI} is still missing`);
    process.exit(1);
  }
}
