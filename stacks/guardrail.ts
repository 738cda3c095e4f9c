import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  EVENT_DRIVEN_FUNCTIONS,
  EXTERNAL_ID_SECRET,
  GUARDRAIL_FUNCTIONS,
  type GuardrailFunction,
  organizationContextNeeded,
  RELIABILITY_ENV,
  SLACK_APP_OUTPUT,
  STACK_OUTPUTS,
} from "@guardrail/core";
import { APP_NAME, roleArn, roleName } from "@guardrail/templates";
import { createAlarms } from "./alarms";
import { createAuditTable } from "./audit-table";
import { allowRulesToDeadLetter, createDeadLetterQueue } from "./dead-letter";
import { createEventRules } from "./event-rules";
import { createEvidence } from "./evidence";
import { readEvidenceSettings } from "./evidence-settings";
import { type AccountResources, createFunctions } from "./functions";
import { createHubBus } from "./hub";
import { createNotifications } from "./notifications";
import { readNotifierParameters, wireNotifiers } from "./notifiers";
import { preparePolicyFile } from "./policy-file";
import { createRegionForwarding, resolveCoveredRegions } from "./regions";
import { PUBLISHING_FUNCTIONS, topicPolicy } from "./resource-policies";
import { createAlarmTopic, createSelfMonitoringAlarms } from "./self-monitoring";
import { eventRuleName, readSelfMonitoring } from "./self-monitoring-settings";
import { readDeploySettings } from "./settings";
import { createSlackApp, slackAppRoleName, slackNotifierEnvironment } from "./slack-app";
import { readSlackAppSettings } from "./slack-app-settings";
import {
  createSweepBucket,
  createSweepFanOut,
  sweepPlannerEnvironment,
  sweepStateMachineArn,
} from "./sweep-fanout";

/** Everything the guardrail deploys. Returns the stack outputs (see STACK_OUTPUTS). */
export async function deployGuardrail() {
  const root = $cli.paths.root;
  const packageVersion = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  const settings = readDeploySettings($app.stage, process.env, String(packageVersion));
  const policy = preparePolicyFile(root);
  const slackApp = readSlackAppSettings(settings.stage, process.env);
  console.log(`network-guardrail: shipping ${policy.source} (policy id ${policy.id})`);
  console.log(
    `network-guardrail: the Slack notifier reads its webhook from the SSM SecureString parameter ${settings.slackWebhookParameter}`,
  );
  if (settings.protection !== settings.production) {
    console.log(
      `network-guardrail: protection is ${settings.protection ? "on" : "off"} for ${
        settings.production ? "production" : "non-production"
      } stage ${settings.stage} (GUARDRAIL_PROTECTION)`,
    );
  }

  const covered = await resolveCoveredRegions(settings);
  console.log(
    `network-guardrail: covering ${covered.length} Region(s) from ${settings.region}: ${covered.join(", ")}${
      settings.regions.kind === "all"
        ? " (every Region enabled now; deploy again after enabling one)"
        : ""
    }`,
  );
  const org = settings.organization;
  const needs = organizationContextNeeded(policy.policy);
  const readsOrganization = needs.accountTags || needs.organizationalUnits;
  if (org !== null) {
    console.log(
      `network-guardrail: organisation mode for ${org.orgId}: member role ${org.memberRoleName}, ` +
        `sweep over the accounts AWS Organizations lists${
          org.accounts.length > 0 ? ` (only ${org.accounts.length} allowed)` : ""
        }, external id from ${
          org.externalId === null ? `the SST secret ${EXTERNAL_ID_SECRET}` : "GUARDRAIL_EXTERNAL_ID"
        }${readsOrganization ? ", account tags and OUs read from AWS Organizations" : ""}`,
    );
  }

  const partition = aws.getPartitionOutput().partition;
  const accountId = aws.getCallerIdentityOutput().accountId;
  // Known before any role exists, so patterns and environments can name every role.
  const ownRoleArns = $resolve([partition, accountId]).apply(([p, account]) => [
    ...GUARDRAIL_FUNCTIONS.map((fn) =>
      roleArn(p, account, roleName(APP_NAME, settings.stage, settings.region, fn)),
    ),
    // The Slack app's worker sets exemption tags: its own CreateTags events are the loop guard's.
    ...(slackApp ? [roleArn(p, account, slackAppRoleName(settings, "slack-actions"))] : []),
  ]);

  const publisherRoleArns = $resolve([partition, accountId]).apply(([p, account]) =>
    PUBLISHING_FUNCTIONS.map((fn) =>
      roleArn(p, account, roleName(APP_NAME, settings.stage, settings.region, fn)),
    ),
  );

  const monitoring = readSelfMonitoring(process.env, settings.production, settings.alertEmail);
  const table = createAuditTable(settings);
  const { key, topic } = createNotifications(settings, {
    partition,
    accountId,
    publisherRoleArns,
  });
  const deadLetterQueue = createDeadLetterQueue();
  const evidence = createEvidence({
    settings,
    evidence: readEvidenceSettings(settings.production, process.env),
    table,
    topic,
    topicKey: key,
  });
  // Organisation mode: the sweep function plans runs of the fan-out (stacks/sweep-fanout.ts).
  const sweepBucket = org === null ? null : createSweepBucket(settings);
  const sweepMachine = org === null ? null : sweepStateMachineArn(settings, partition, accountId);
  const externalIdSecret =
    org !== null && org.externalId === null ? new sst.Secret(EXTERNAL_ID_SECRET) : undefined;
  const account: AccountResources = {
    settings,
    policy,
    partition,
    accountId,
    ownRoleArns,
    table,
    topic,
    topicKey: key,
    deadLetterQueue,
    notifierParameters: readNotifierParameters(settings.stage, process.env),
  };
  const lambdas = createFunctions({
    ...account,
    chainQueue: evidence.chainQueue,
    ...(externalIdSecret ? { externalIdSecret } : {}),
    readsOrganization,
    regions: covered,
    environment: {
      sweep: {
        [RELIABILITY_ENV.trails]: monitoring.trails.join(","),
        [RELIABILITY_ENV.eventRules]: EVENT_DRIVEN_FUNCTIONS.map((fn) =>
          eventRuleName(settings.stage, fn),
        ).join(","),
        ...(sweepBucket && sweepMachine ? sweepPlannerEnvironment(sweepBucket, sweepMachine) : {}),
      },
      ...(monitoring.slackMaxPerMinute || slackApp
        ? {
            "slack-notifier": {
              ...(monitoring.slackMaxPerMinute
                ? { [RELIABILITY_ENV.slackMaxPerMinute]: monitoring.slackMaxPerMinute }
                : {}),
              ...(slackApp ? slackNotifierEnvironment(slackApp) : {}),
            },
          }
        : {}),
    },
  });
  wireNotifiers({ ...account, lambdas });

  const slack = slackApp === null ? null : createSlackApp({ ...account, app: slackApp });
  if (slackApp !== null) {
    console.log(
      `network-guardrail: Slack app on (${slackApp.endpoint}); bot token and signing secret from the SSM SecureString parameters ${slackApp.tokenParameter} and ${slackApp.signingSecretParameter}`,
    );
  }

  const rules = createEventRules(settings, lambdas, ownRoleArns, deadLetterQueue);
  // Organisation mode: the spokes forward from every account and Region, the hub's included.
  if (org === null) createRegionForwarding(settings, covered, partition, accountId);
  const hub = org === null ? null : createHubBus(settings, org, lambdas, deadLetterQueue);
  allowRulesToDeadLetter(
    deadLetterQueue,
    [...rules, ...(hub?.rules ?? [])].map((rule) => rule.arn),
  );
  const alarmTopic = createAlarmTopic(settings, monitoring);
  const fanOut =
    sweepBucket && sweepMachine
      ? createSweepFanOut({
          settings,
          policy,
          partition,
          accountId,
          bucket: sweepBucket,
          machineArn: sweepMachine,
          sweep: lambdas.sweep,
          ...(externalIdSecret ? { externalIdSecret } : {}),
          alarmActions: [topic.arn, alarmTopic.arn],
        })
      : null;
  const alarms = [
    ...(fanOut?.alarms ?? []),
    ...createAlarms(settings, lambdas, deadLetterQueue, topic, [alarmTopic.arn]),
    ...createSelfMonitoringAlarms(settings, lambdas, [topic.arn, alarmTopic.arn]),
  ];
  new aws.sns.TopicPolicy("NotificationTopicPolicy", {
    arn: topic.arn,
    policy: $util
      .all([
        topic.arn,
        partition,
        accountId,
        publisherRoleArns,
        $util.all(alarms.map((a) => a.arn)),
      ])
      .apply(([topicArn, p, account, publishers, alarmArns]) =>
        JSON.stringify(
          topicPolicy({
            topicArn,
            partition: p,
            accountId: account,
            publisherRoleArns: publishers,
            alarmArns,
          }),
        ),
      ),
  });

  const functionNames = Object.fromEntries(
    GUARDRAIL_FUNCTIONS.map((fn: GuardrailFunction) => [fn, lambdas[fn].fn.name]),
  );
  return {
    [STACK_OUTPUTS.auditTableName]: table.name,
    [STACK_OUTPUTS.topicArn]: topic.arn,
    [STACK_OUTPUTS.deadLetterQueueUrl]: deadLetterQueue.url,
    [STACK_OUTPUTS.functionNames]: functionNames,
    [STACK_OUTPUTS.evidenceBucket]: evidence.bucket.bucket,
    ...(hub === null ? {} : { [STACK_OUTPUTS.hubBusArn]: hub.bus.arn }),
    ...(slack === null ? {} : { [SLACK_APP_OUTPUT]: slack.url }),
  };
}
