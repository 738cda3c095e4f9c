import { topicKeyPolicy } from "./resource-policies";
import type { DeploySettings } from "./settings";
import type { DeployAccount } from "./target";

export interface AccountScope extends DeployAccount {
  /** The roles of the functions that publish (known before the roles exist). */
  readonly publisherRoleArns: $util.Output<string[]>;
}

/**
 * The notification topic, encrypted with a customer-managed key. A customer key (not the AWS
 * managed `alias/aws/sns`) is required because CloudWatch alarms can only publish to an
 * encrypted topic whose key policy lets them use the key. The topic's own policy is set once
 * the alarms exist (`topicPolicy`, in guardrail.ts), since it names each of them.
 */
export function createNotifications(settings: DeploySettings, account: AccountScope) {
  const key = new aws.kms.Key("TopicKey", {
    description: `network-guardrail ${settings.stage}: encrypts the notification topic`,
    enableKeyRotation: true,
    deletionWindowInDays: settings.protection ? 30 : 7,
    policy: $util
      .all([account.partition, account.accountId, account.publisherRoleArns])
      .apply(([partition, accountId, publisherRoleArns]) =>
        JSON.stringify(topicKeyPolicy({ partition, accountId, publisherRoleArns })),
      ),
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
    subscribe("AlertEmailSubscription", topic, "email", settings.alertEmail);
  }

  return { key, topic };
}

/** An email or HTTPS subscription of a topic (the endpoint confirms it). */
export function subscribe(
  id: string,
  topic: aws.sns.Topic,
  protocol: "email" | "https",
  endpoint: string,
): aws.sns.TopicSubscription {
  return new aws.sns.TopicSubscription(id, { topic: topic.arn, protocol, endpoint });
}
