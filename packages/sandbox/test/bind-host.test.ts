import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startLocalStack } from "../src/local/index";

/** Local addresses (`0100007F` is 127.0.0.1) of the TCP sockets listening on `port` (Linux). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  return ["/proc/net/tcp", "/proc/net/tcp6"].flatMap((file) =>
    readFileSync(file, "utf8")
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      // st 0A is LISTEN.
      .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === "0A")
      .map((f) => f[1]!.split(":")[0]!),
  );
}

describe("the local stack's servers", () => {
  it("all listen on the loopback address only, SNS (fauxqs) included", async () => {
    const stack = await startLocalStack({ host: "127.0.0.1" });
    try {
      const ports = Object.entries(stack.endpoints).map(
        ([name, url]) => [name, Number(new URL(url).port)] as const,
      );
      expect(ports.map(([name]) => name).sort()).toEqual(["dynamo", "ec2", "slack", "sns", "ssm"]);
      for (const [name, port] of ports) {
        expect({ name, listeners: listeners(port) }).toEqual({ name, listeners: ["0100007F"] });
      }
    } finally {
      await stack.close();
    }
  });
});
