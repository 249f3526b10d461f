// The security rules every stack must pass, and the alarms every consumer and Lambda must have, as a
// Pulumi policy pack. Kept apart from policy/index.ts (which serves the pack) so that tests can
// import and exercise them.
import * as aws from "@pulumi/aws";
import { Policies, PolicyResource, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";

import { eventSources } from "../src/consumers";
import { DEAD_LETTERED_METRIC, EFO_BEHIND_METRIC, SERVICE_CPU_METRIC } from "../src/monitoring";

/** The resources of `resourceClass` in the stack, as their outputs. */
function resourcesOf<T extends pulumi.Resource>(resources: PolicyResource[], resourceClass: { new (...rest: any[]): T }) {
  return resources.flatMap((r) => {
    const props = r.asType(resourceClass);
    return props ? [props] : [];
  });
}

/**
 * Every consumer the Lambda host publishes (processors/lambda-event-sources.json) is watched:
 * an alarm on the records it dead-letters, and one on how far behind the stream it is. On Lambda
 * that is its function's IteratorAge, the function found as the one its enhanced fan-out
 * consumer's mapping invokes; a consumer no Lambda runs (its workers are on Fargate) needs
 * Kinesis's SubscribeToShardEvent.MillisBehindLatest for that enhanced fan-out consumer instead.
 * Before the first deployment those ARNs are unknown, so the rule runs on `pulumi up` and on
 * later previews (Pulumi reports it as not run on that first preview).
 */
export const consumersAlarmed: StackValidationPolicy = {
  name: "consumer-dead-letter-and-behind-alarms",
  description: "Every consumer has an alarm on its dead letters (OrdersPipeline/DeadLettered by Consumer) and on how far behind it is: " +
    "its function's IteratorAge, or on Fargate its enhanced fan-out consumer's SubscribeToShardEvent.MillisBehindLatest.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const alarms = resourcesOf(args.resources, aws.cloudwatch.MetricAlarm);
    const efos = resourcesOf(args.resources, aws.kinesis.StreamConsumer);
    const streams = resourcesOf(args.resources, aws.kinesis.Stream);
    const mappings = resourcesOf(args.resources, aws.lambda.EventSourceMapping);
    const functions = resourcesOf(args.resources, aws.lambda.Function);
    const { namespace, metricName } = DEAD_LETTERED_METRIC;
    for (const consumer of Object.keys(eventSources())) {
      const deadLetters = alarms.some((a) =>
        a.namespace === namespace && a.metricName === metricName && a.dimensions?.Consumer === consumer);
      if (!deadLetters) {
        reportViolation(`consumer ${consumer} has no alarm on ${namespace}/${metricName} with dimension Consumer=${consumer}`);
      }
      const efo = efos.find((c) => c.name === consumer);
      const mapping = efo && mappings.find((m) => m.eventSourceArn === efo.arn);
      const fn = mapping && functions.find((f) =>
        f.arn === mapping.functionName || f.arn === mapping.functionArn || f.name === mapping.functionName);
      if (!fn) {
        // No Lambda: workers read the enhanced fan-out consumer, and Kinesis measures how far behind.
        const stream = efo && streams.find((s) => s.arn === efo.streamArn);
        const behind = stream !== undefined && alarms.some((a) =>
          a.namespace === EFO_BEHIND_METRIC.namespace && a.metricName === EFO_BEHIND_METRIC.metricName &&
          a.dimensions?.ConsumerName === consumer && a.dimensions?.StreamName === stream.name);
        if (!behind) {
          reportViolation(
            `consumer ${consumer} has no Lambda function invoked from its enhanced fan-out consumer, and no alarm on ` +
              `${EFO_BEHIND_METRIC.namespace}/${EFO_BEHIND_METRIC.metricName} for it (ConsumerName=${consumer} on its stream) as its workers on Fargate need`,
          );
        }
        continue;
      }
      const behind = alarms.some((a) =>
        a.namespace === "AWS/Lambda" && a.metricName === "IteratorAge" && a.dimensions?.FunctionName === fn.name);
      if (!behind) {
        reportViolation(`consumer ${consumer} has no IteratorAge alarm on its function ${fn.name}`);
      }
    }
  },
};

/**
 * Every ECS service (the consumers' Fargate workers) logs through awslogs, from every container of
 * its task definition, to a log group of the stack that has a retention and is encrypted with a
 * KMS key, and has an alarm on its AWS/ECS CPUUtilization, which has data only while a task
 * runs: none runs unwatched, logs forever, or keeps its logs unencrypted.
 */
export const servicesLoggedAndAlarmed: StackValidationPolicy = {
  name: "ecs-service-log-group-and-running-alarm",
  description: "Every ECS service's containers log through awslogs to an encrypted log group with a retention, and the service has an alarm on AWS/ECS CPUUtilization.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const alarms = resourcesOf(args.resources, aws.cloudwatch.MetricAlarm);
    const logGroups = resourcesOf(args.resources, aws.cloudwatch.LogGroup);
    const taskDefinitions = resourcesOf(args.resources, aws.ecs.TaskDefinition);
    for (const service of resourcesOf(args.resources, aws.ecs.Service)) {
      const taskDefinition = taskDefinitions.find((t) => t.arn === service.taskDefinition || t.family === service.taskDefinition);
      if (!taskDefinition) {
        reportViolation(`ECS service ${service.name} runs no task definition of the stack`);
      } else {
        const containers: { name?: string; logConfiguration?: { logDriver?: string; options?: Record<string, string> } }[] =
          typeof taskDefinition.containerDefinitions === "string" ? JSON.parse(taskDefinition.containerDefinitions) : [];
        for (const container of containers) {
          const where = `ECS service ${service.name}'s container ${container.name}`;
          const logging = container.logConfiguration;
          const logGroup = logging?.logDriver === "awslogs" ? logGroups.find((g) => g.name === logging.options?.["awslogs-group"]) : undefined;
          if (!logGroup) {
            reportViolation(`${where} does not log through awslogs to a log group of the stack`);
          } else {
            if (!logGroup.retentionInDays) reportViolation(`${where} logs to ${logGroup.name}, which has no retention`);
            if (!logGroup.kmsKeyId) reportViolation(`${where} logs to ${logGroup.name}, which is not encrypted with a KMS key`);
          }
        }
      }
      const running = alarms.some((a) =>
        a.namespace === SERVICE_CPU_METRIC.namespace && a.metricName === SERVICE_CPU_METRIC.metricName &&
        a.dimensions?.ServiceName === service.name);
      if (!running) reportViolation(`ECS service ${service.name} has no alarm on its ${SERVICE_CPU_METRIC.namespace} ${SERVICE_CPU_METRIC.metricName}`);
    }
  },
};

/**
 * Every Lambda writes its logs to a log group of the stack's that has a retention, and has an
 * alarm on its Errors metric: none runs unwatched, or logs forever. Like the consumers' rule,
 * it is reported as not run on a preview that cannot know those names yet.
 */
export const lambdasLoggedAndAlarmed: StackValidationPolicy = {
  name: "lambda-log-group-and-errors-alarm",
  description: "Every Lambda logs to a log group with a retention and has an alarm on its AWS/Lambda Errors metric.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const alarms = resourcesOf(args.resources, aws.cloudwatch.MetricAlarm);
    const logGroups = resourcesOf(args.resources, aws.cloudwatch.LogGroup);
    for (const fn of resourcesOf(args.resources, aws.lambda.Function)) {
      const logGroup = logGroups.find((g) => g.name === fn.loggingConfig?.logGroup);
      if (!logGroup) {
        reportViolation(`Lambda ${fn.name} does not log to a log group of the stack`);
      } else if (!logGroup.retentionInDays) {
        reportViolation(`Lambda ${fn.name} logs to ${logGroup.name}, which has no retention`);
      }
      const errors = alarms.some((a) =>
        a.namespace === "AWS/Lambda" && a.metricName === "Errors" && a.dimensions?.FunctionName === fn.name);
      if (!errors) reportViolation(`Lambda ${fn.name} has no alarm on its AWS/Lambda Errors metric`);
    }
  },
};

export const policies: Policies = [
  {
    name: "kinesis-stream-encrypted-with-kms",
    description: "Orders carry personal data: the stream is encrypted at rest with a KMS key.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.kinesis.Stream, (stream, _args, reportViolation) => {
      if (stream.encryptionType !== "KMS" || !stream.kmsKeyId) {
        reportViolation("the stream must set encryptionType KMS and a kmsKeyId");
      }
    }),
  },
  {
    name: "dynamodb-table-encrypted-and-recoverable",
    description: "Tables are encrypted with the pipeline's KMS key and keep point-in-time recovery.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.dynamodb.Table, (table, _args, reportViolation) => {
      if (!table.serverSideEncryption?.enabled || !table.serverSideEncryption.kmsKeyArn) {
        reportViolation("the table must enable server-side encryption with a customer-managed KMS key");
      }
      if (!table.pointInTimeRecovery?.enabled) {
        reportViolation("the table must enable point-in-time recovery");
      }
    }),
  },
  {
    name: "kms-key-rotation",
    description: "Customer-managed keys rotate yearly.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.kms.Key, (key, _args, reportViolation) => {
      if (!key.enableKeyRotation) {
        reportViolation("the key must enable rotation");
      }
    }),
  },
  {
    name: "s3-public-access-blocked",
    description: "No archive or dead-letter object is ever public.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.s3.BucketPublicAccessBlock, (block, _args, reportViolation) => {
      for (const setting of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const) {
        if (block[setting] !== true) reportViolation(`${setting} must be true`);
      }
    }),
  },
  {
    name: "iam-no-data-action-on-everything",
    description: "Roles reach named resources only: no wildcard actions, no data action on '*'.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.iam.RolePolicy, (policy, _args, reportViolation) => {
      const document = typeof policy.policy === "string" ? JSON.parse(policy.policy) : policy.policy;
      for (const statement of [document?.Statement ?? []].flat()) {
        const actions: string[] = [statement.Action ?? []].flat();
        const resources: string[] = [statement.Resource ?? []].flat();
        for (const action of actions) {
          if (action.includes("*")) reportViolation(`wildcard action ${action}`);
          else if (DATA_ACTION.test(action) && resources.includes("*")) reportViolation(`${action} on every resource`);
        }
      }
    }),
  },
  {
    name: "lambda-traced",
    description: "Every Lambda sends traces to X-Ray, so one order can be followed end to end.",
    enforcementLevel: "advisory",
    validateResource: validateResourceOfType(aws.lambda.Function, (fn, _args, reportViolation) => {
      if (fn.tracingConfig?.mode !== "Active") reportViolation("tracingConfig.mode must be Active");
    }),
  },
  {
    name: "sns-topic-encrypted",
    description: "Alarm and dead-letter notices are encrypted at rest.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.sns.Topic, (topic, _args, reportViolation) => {
      if (!topic.kmsMasterKeyId) reportViolation("the topic must set kmsMasterKeyId");
    }),
  },
  {
    name: "ssm-parameter-secure-string",
    description: "Parameter Store holds only credentials here (the saga stages' API key): every parameter is a SecureString.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.ssm.Parameter, (parameter, _args, reportViolation) => {
      if (parameter.type !== "SecureString") reportViolation(`the parameter must be a SecureString, not ${parameter.type}`);
    }),
  },
  {
    name: "glue-table-partition-projection",
    description: "Every Glue table over the archive finds its partitions by projection: nothing to crawl or add, and a query reads only the partitions it names.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.glue.CatalogTable, (table, _args, reportViolation) => {
      const parameters = table.parameters ?? {};
      const keys = (table.partitionKeys ?? []).map((k) => k.name);
      if (parameters["projection.enabled"] !== "true") reportViolation("projection.enabled must be true");
      if (keys.length === 0) reportViolation("the table must have partition keys for the projection");
      for (const key of keys) {
        if (!parameters[`projection.${key}.type`]) reportViolation(`partition key ${key} has no projection.${key}.type`);
      }
      if (!parameters["storage.location.template"]?.startsWith("s3://")) {
        reportViolation("storage.location.template must be the s3:// location of a partition");
      }
    }),
  },
  consumersAlarmed,
  lambdasLoggedAndAlarmed,
  servicesLoggedAndAlarmed,
];

/**
 * Actions that read or write the pipeline's data, or reach what it holds: reading the saga
 * stages' API key (ssm) and calling their services (execute-api).
 */
export const DATA_ACTION = /^(kinesis|dynamodb|s3|kms|firehose|sns|ssm|execute-api):|^logs:PutLogEvents$/;
