// What every part of the program shares: the configuration, the tags, how names are made, and
// least-privilege roles built from (actions, named resources) statements.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { PipelineConfig } from "./config";

export interface Context {
  config: PipelineConfig;
  tags: Record<string, string>;
  /** `<prefix>-<suffix>`: the physical name of a resource. */
  name(suffix: string): string;
  region: pulumi.Output<string>;
  accountId: pulumi.Output<string>;
}

export function context(config: PipelineConfig): Context {
  return {
    config,
    tags: { project: "orders-pipeline", stack: pulumi.getStack(), ...config.tags },
    name: (suffix) => `${config.prefix}-${suffix}`,
    region: aws.getRegionOutput().region,
    accountId: aws.getCallerIdentityOutput().accountId,
  };
}

/** One statement of a role's policy: these actions on these named resources, under an optional IAM condition. */
export interface Grant {
  actions: string[];
  resources: pulumi.Input<string>[];
  /** An IAM Condition block, e.g. `{ "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["me"] } }`. */
  condition?: Record<string, Record<string, string[]>>;
}

/**
 * The IAM condition that limits a consumer to the items of a table whose partition key is its
 * own name (the failures, idempotency and lease tables are all keyed by `consumer` first).
 */
export function ownItemsOnly(consumer: string): Grant["condition"] {
  return { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [consumer] } };
}

/**
 * A role only `service` (e.g. "lambda.amazonaws.com") may assume, with an inline policy of
 * exactly `grants`. No aws:SourceAccount condition: Lambda and API Gateway do not send it when
 * they assume a role they were given, and a role cannot be passed to another account's
 * resource anyway (iam:PassRole).
 */
export function serviceRole(
  ctx: Context,
  name: string,
  service: string,
  grants: Grant[],
): { role: aws.iam.Role; policy: aws.iam.RolePolicy } {
  const role = new aws.iam.Role(ctx.name(name), {
    name: ctx.name(name),
    assumeRolePolicy: pulumi.jsonStringify({
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { Service: service },
        Action: "sts:AssumeRole",
      }],
    }),
    tags: ctx.tags,
  });
  const policy = new aws.iam.RolePolicy(ctx.name(name), {
    role: role.name,
    policy: pulumi.jsonStringify({
      Version: "2012-10-17",
      Statement: grants.map((grant) => ({
        Effect: "Allow",
        Action: grant.actions,
        Resource: grant.resources,
        ...(grant.condition ? { Condition: grant.condition } : {}),
      })),
    }),
  });
  return { role, policy };
}

/** Writing traces: X-Ray's PutTraceSegments has no resource to scope to. */
export const XRAY_WRITE: Grant = {
  actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
  resources: ["*"],
};
