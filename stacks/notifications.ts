import { SLACK_WEBHOOK_SECRET, TOPIC_KEY_ACTIONS } from "@guardrail/core";
import type { DeploySettings } from "./settings";

export interface AccountScope {
  readonly partition: $util.Output<string>;
  readonly accountId: $util.Output<string>;
}

/**
 * The notification topic, encrypted with a customer-managed key. A customer key (not the AWS
 * managed `alias/aws/sns`) is required because CloudWatch alarms and EventBridge can only publish
 * to an encrypted topic whose key policy lets them use the key.
 */
export function createNotifications(settings: DeploySettings, account: AccountScope) {
  const key = new aws.kms.Key("TopicKey", {
    description: `network-guardrail ${settings.stage}: encrypts the notification topic`,
    enableKeyRotation: true,
    deletionWindowInDays: settings.production ? 30 : 7,
    policy: $jsonStringify({
      Version: "2012-10-17",
      Statement: [
        {
          // AWS's default key-policy statement: the account administers the key through IAM.
          // Without it no principal could ever change or delete the key again.
          Sid: "AccountAdministersKeyThroughIam",
          Effect: "Allow",
          Principal: { AWS: $interpolate`arn:${account.partition}:iam::${account.accountId}:root` },
          Action: "kms:*",
          Resource: "*",
        },
        {
          Sid: "AlarmsAndEventBridgePublishToTopic",
          Effect: "Allow",
          Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com"] },
          Action: [...TOPIC_KEY_ACTIONS],
          Resource: "*",
        },
      ],
    }),
  });
  new aws.kms.Alias("TopicKeyAlias", {
    name: `alias/network-guardrail-${settings.stage}-${settings.region}-topic`,
    targetKeyId: key.keyId,
  });

  const topic = new aws.sns.Topic("NotificationTopic", {
    displayName: `Network guardrail (${settings.stage})`,
    kmsMasterKeyId: key.arn,
  });

  if (settings.alertEmail) {
    // Alarms reach a person even when the Slack notifier itself is what is failing.
    new aws.sns.TopicSubscription("AlertEmailSubscription", {
      topic: topic.arn,
      protocol: "email",
      endpoint: settings.alertEmail,
    });
  }

  const slackWebhook = new sst.Secret(SLACK_WEBHOOK_SECRET);
  return { key, topic, slackWebhook };
}
