import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallerIdentityError, callerActor } from "../src/caller";

/** STS and IAM on one local endpoint, answering with a Date far from the local clock. */
const AWS_DATE = "Mon, 01 Jun 2026 12:00:00 GMT";
let server: Server;
let endpoint: string;
let getRole: "ok" | "denied" = "ok";

const creds = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "secret" };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const action = new URLSearchParams(body).get("Action");
      res.setHeader("Date", AWS_DATE);
      res.setHeader("Content-Type", "text/xml");
      if (action === "GetCallerIdentity") {
        res.end(
          '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
            "<Arn>arn:aws:sts::123456789012:assumed-role/tag-approver/alice</Arn>" +
            "<UserId>AROAEXAMPLE:alice</UserId><Account>123456789012</Account>" +
            "</GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
        );
      } else if (getRole === "ok") {
        res.end(
          '<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role>' +
            "<Path>/security/</Path><RoleName>tag-approver</RoleName><RoleId>AROAEXAMPLE</RoleId>" +
            "<Arn>arn:aws:iam::123456789012:role/security/tag-approver</Arn>" +
            "<CreateDate>2026-01-01T00:00:00Z</CreateDate>" +
            "</Role></GetRoleResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></GetRoleResponse>",
        );
      } else {
        res.statusCode = 403;
        res.end(
          '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>' +
            "<Code>AccessDenied</Code><Message>not authorized to perform: iam:GetRole</Message></Error>" +
            "<RequestId>r-3</RequestId></ErrorResponse>",
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("callerActor", () => {
  it("answers AWS's time from STS's Date header, not the local clock", async () => {
    getRole = "ok";
    const { awsTime } = await callerActor({ region: "us-east-1", endpoint, credentials: creds });
    expect(awsTime.toISOString()).toBe("2026-06-01T12:00:00.000Z");
  });

  it("keeps the path of the caller's role (IAM GetRole)", async () => {
    getRole = "ok";
    const { actor } = await callerActor({ region: "us-east-1", endpoint, credentials: creds });
    expect(actor).toMatchObject({
      type: "AssumedRole",
      arn: "arn:aws:sts::123456789012:assumed-role/tag-approver/alice",
      sessionIssuerArn: "arn:aws:iam::123456789012:role/security/tag-approver",
    });
  });

  it("fails, naming iam:GetRole, rather than guess a role without its path", async () => {
    getRole = "denied";
    const call = callerActor({ region: "us-east-1", endpoint, credentials: creds });
    await expect(call).rejects.toBeInstanceOf(CallerIdentityError);
    await expect(call).rejects.toThrow(/allow iam:GetRole on your own role/);
  });
});
