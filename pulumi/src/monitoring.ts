// One place to look: alarms to one SNS topic (and e-mail, if configured), each naming its runbook
// under docs/runbooks/, dead letters announced on the same topic the moment they land, and one
// dashboard.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { Api, STAGE } from "./api";
import { Archive } from "./archive";
import { Consumer, fargateConsumers, lambdaConsumers } from "./consumers";
import { Context } from "./context";
import { WORKER_CLUSTER, workerName } from "./fargate";
import { RustLambda } from "./lambdas";

export interface MonitoringResources {
  key: aws.kms.Key;
  stream: aws.kinesis.Stream;
  ordersTable: aws.dynamodb.Table;
  consumers: Consumer[];
  api: Api;
  archive: Archive;
  /** The hourly Lambda that writes the analyst tables. */
  orderTables: RustLambda;
  deadLetters: aws.s3.Bucket;
  /** The tables on provisioned capacity (dynamodbCapacity provisioned), each alarmed on when its writes keep being throttled; none on-demand. */
  provisionedTables?: ProvisionedTable[];
}

/** A table on provisioned capacity, with its index if it has one, and the settings of its write capacity. */
export interface ProvisionedTable {
  /** Names the alarm: `<prefix>-<id>-write-throttled`. */
  id: string;
  table: aws.dynamodb.Table;
  index?: string;
  /** Its minimum and maximum write capacity settings, which the alarm tells the operator to raise. */
  settings: [string, string];
}

/**
 * Throttled writes to a provisioned table alarm when they go on for this many 5-minute periods
 * in a row. A spike is throttled for a few minutes while auto scaling raises the capacity, and the
 * consumers retry; throttling for 15 minutes means the capacity is short of the load.
 */
export const WRITE_THROTTLE_PERIODS = 3;

export interface Monitoring {
  topic: aws.sns.Topic;
  alarms: aws.cloudwatch.MetricAlarm[];
  dashboard: aws.cloudwatch.Dashboard;
  dashboardUrl: pulumi.Output<string>;
}

/** The custom metric of throttled API requests, counted from the access log. */
/** Where Lambda's on-failure destination writes failed batches in the dead-letter bucket. */
export const LAMBDA_ON_FAILURE_PREFIX = "aws/lambda/";

export const API_THROTTLED_METRIC = { namespace: "OrdersPipeline", metricName: "ApiThrottled" };

/** Each consumer's count of records it dead-lettered, per batch, with dimension Consumer (EMF). */
export const DEAD_LETTERED_METRIC = { namespace: "OrdersPipeline", metricName: "DeadLettered" };

/**
 * How far behind the tip the records Kinesis pushes to an enhanced fan-out consumer are, with
 * dimensions StreamName and ConsumerName: what says a Fargate consumer is behind, as IteratorAge
 * says it for a Lambda.
 */
export const EFO_BEHIND_METRIC = { namespace: "AWS/Kinesis", metricName: "SubscribeToShardEvent.MillisBehindLatest" };

/**
 * An ECS service's CPU use, which ECS publishes every minute while at least one of its tasks
 * runs (no Container Insights needed): no data point means no worker is running.
 */
export const SERVICE_CPU_METRIC = { namespace: "AWS/ECS", metricName: "CPUUtilization" };

/**
 * The runbooks, one per kind of alarm, each `docs/runbooks/<slug>.md` in this repository (what the
 * alarm means, where to look, what to do). Per-consumer and per-table alarms share their kind's.
 */
export const RUNBOOKS = [
  "consumer-behind",
  "consumer-dead-letters",
  "consumer-errors",
  "consumer-throttles",
  "query-errors",
  "query-throttles",
  "api-5xx",
  "api-429",
  "archive-stale",
  "order-tables-errors",
  "table-write-throttled",
] as const;
export type Runbook = (typeof RUNBOOKS)[number];

/** Where the runbooks are, relative to the repository's root. */
export const RUNBOOKS_DIR = "docs/runbooks";

/** A runbook's path relative to the repository's root: `docs/runbooks/<slug>.md`. */
export function runbookPath(runbook: Runbook): string {
  return `${RUNBOOKS_DIR}/${runbook}.md`;
}

/**
 * An alarm's description as the operator paged by it reads it: what happened, then where its
 * runbook is. Every alarm's description is made here, so none goes out without its runbook.
 */
export function alarmDescription(what: string, runbook: Runbook): string {
  return `${what.replace(/[.\s]+$/, "")}. Runbook: ${runbookPath(runbook)}`;
}

/** How an operator lists a consumer's dead letters (docs/consumers.md). */
export function redriveListCommand(consumer: string): string {
  return `cargo run --release -p processors --bin redrive -- list --consumer ${consumer}`;
}

export function createMonitoring(ctx: Context, r: MonitoringResources): Monitoring {
  const topic = new aws.sns.Topic(ctx.name("alarms"), {
    name: ctx.name("alarms"),
    kmsMasterKeyId: r.key.arn,
    tags: ctx.tags,
  });
  new aws.sns.TopicPolicy(ctx.name("alarms"), {
    arn: topic.arn,
    policy: pulumi.jsonStringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "AlarmsPublish",
          Effect: "Allow",
          Principal: { Service: "cloudwatch.amazonaws.com" },
          Action: "sns:Publish",
          Resource: topic.arn,
          Condition: { StringEquals: { "aws:SourceAccount": ctx.accountId } },
        },
        {
          Sid: "DeadLettersPublish",
          Effect: "Allow",
          Principal: { Service: "s3.amazonaws.com" },
          Action: "sns:Publish",
          Resource: topic.arn,
          Condition: { ArnEquals: { "aws:SourceArn": r.deadLetters.arn }, StringEquals: { "aws:SourceAccount": ctx.accountId } },
        },
      ],
    }),
  });
  if (ctx.config.alarmEmail) {
    new aws.sns.TopicSubscription(ctx.name("alarms-email"), { topic: topic.arn, protocol: "email", endpoint: ctx.config.alarmEmail });
  }
  // A batch Lambda's on-failure destination wrote (past the mapping's own limits, the backstop
  // behind the engine's). The consumers' own dead letters, one object per record under
  // dead-letters/, are alarmed on through their DeadLettered metric instead of one message each.
  new aws.s3.BucketNotification(ctx.name("dead-letters"), {
    bucket: r.deadLetters.id,
    topics: [{ topicArn: topic.arn, events: ["s3:ObjectCreated:*"], filterPrefix: LAMBDA_ON_FAILURE_PREFIX }],
  });

  const alarms: aws.cloudwatch.MetricAlarm[] = [];
  // Every alarm: named under the prefix, to the topic, and described with its runbook.
  const alarm = (
    id: string,
    runbook: Runbook,
    { alarmDescription: what, ...args }: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "tags" | "alarmDescription"> & {
      alarmDescription: string;
    },
  ) => {
    alarms.push(new aws.cloudwatch.MetricAlarm(ctx.name(id), {
      name: ctx.name(id),
      alarmActions: [topic.arn],
      okActions: [topic.arn],
      tags: ctx.tags,
      ...args,
      alarmDescription: alarmDescription(what, runbook),
    }));
  };
  const lambdaAlarms = (id: string, fn: aws.lambda.Function, runbooks: { Errors: Runbook; Throttles: Runbook }) => {
    for (const metricName of ["Errors", "Throttles"] as const) {
      alarm(`${id}-${metricName.toLowerCase()}`, runbooks[metricName], {
        alarmDescription: `${metricName} in the ${id} Lambda`,
        namespace: "AWS/Lambda",
        metricName,
        dimensions: { FunctionName: fn.name },
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
      });
    }
  };

  for (const consumer of r.consumers) {
    const behind = {
      alarmDescription: `${consumer.name} is more than ${ctx.config.iteratorAgeAlarmSeconds} s behind the stream`,
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      threshold: ctx.config.iteratorAgeAlarmSeconds * 1000,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    };
    if (consumer.host === "lambda") {
      // The function's IteratorAge sees enhanced fan-out; the stream's GetRecords metric does not.
      alarm(`${consumer.name}-behind`, "consumer-behind", {
        ...behind,
        namespace: "AWS/Lambda",
        metricName: "IteratorAge",
        dimensions: { FunctionName: consumer.lambda.fn.name },
      });
    } else {
      // The workers' subscriptions to the consumer's enhanced fan-out registration, as Kinesis
      // measures them: the same threshold as a Lambda's IteratorAge.
      alarm(`${consumer.name}-behind`, "consumer-behind", {
        ...behind,
        namespace: EFO_BEHIND_METRIC.namespace,
        metricName: EFO_BEHIND_METRIC.metricName,
        dimensions: { StreamName: r.stream.name, ConsumerName: consumer.efo.name },
      });
    }
    // The consumer's own count of records it wrote to the dead-letter bucket (poison, or past
    // the engine's attempt or age limit), from the EMF line it prints per batch
    // (processors/src/metrics.rs), on either host. Nothing retries a dead letter until an
    // operator redrives it.
    alarm(`${consumer.name}-dead-letters`, "consumer-dead-letters", {
      alarmDescription: `${consumer.name} dead-lettered records: list them with ` +
        `\`${redriveListCommand(consumer.name)}\` (see docs/consumers.md)`,
      namespace: DEAD_LETTERED_METRIC.namespace,
      metricName: DEAD_LETTERED_METRIC.metricName,
      dimensions: { Consumer: consumer.name },
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
    if (consumer.host === "lambda") {
      lambdaAlarms(consumer.name, consumer.lambda.fn, { Errors: "consumer-errors", Throttles: "consumer-throttles" });
    } else {
      // A Lambda that fails raises Errors; workers that fail stop running. With none running the
      // behind alarm above gets no data and stays quiet, so this one counts the data points
      // instead: none for 5 minutes (tasks failing at start, an image that cannot be pulled).
      const { cluster, service } = consumer.worker;
      alarm(`${consumer.name}-workers`, "consumer-errors", {
        alarmDescription: `No worker of ${consumer.name} has run for 5 minutes, so nothing reads its shards: ` +
          "its Fargate service's events and its log group say why " +
          `(aws ecs describe-services --cluster ${ctx.name(WORKER_CLUSTER)} --services ${ctx.name(workerName(consumer.name))})`,
        namespace: SERVICE_CPU_METRIC.namespace,
        metricName: SERVICE_CPU_METRIC.metricName,
        dimensions: { ClusterName: cluster.name, ServiceName: service.name },
        statistic: "SampleCount",
        period: 60,
        evaluationPeriods: 5,
        threshold: 1,
        comparisonOperator: "LessThanThreshold",
        treatMissingData: "breaching",
      });
    }
  }
  lambdaAlarms("query", r.api.query.fn, { Errors: "query-errors", Throttles: "query-throttles" });

  const apiDimensions = { ApiName: r.api.restApi.name, Stage: r.api.stage.stageName };
  alarm("api-5xx", "api-5xx", {
    alarmDescription: "More than 1% of API requests answered 5xx",
    namespace: "AWS/ApiGateway",
    metricName: "5XXError",
    dimensions: apiDimensions,
    statistic: "Average",
    period: 300,
    evaluationPeriods: 1,
    threshold: 0.01,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
  });
  new aws.cloudwatch.LogMetricFilter(ctx.name("api-throttled"), {
    name: ctx.name("api-throttled"),
    logGroupName: r.api.accessLogs.name,
    pattern: '{ $.status = "429" }',
    metricTransformation: {
      name: API_THROTTLED_METRIC.metricName,
      namespace: API_THROTTLED_METRIC.namespace,
      value: "1",
      defaultValue: "0",
      unit: "Count",
    },
  });
  alarm("api-429", "api-429", {
    alarmDescription: "More than 1% of API requests throttled (429): shoppers are being turned away",
    metricQueries: [
      {
        id: "throttled",
        metric: { ...API_THROTTLED_METRIC, stat: "Sum", period: 300 },
      },
      {
        id: "requests",
        metric: { namespace: "AWS/ApiGateway", metricName: "Count", dimensions: apiDimensions, stat: "Sum", period: 300 },
      },
      { id: "rate", expression: "IF(requests > 0, throttled / requests, 0)", label: "429 rate", returnData: true },
    ],
    evaluationPeriods: 1,
    threshold: 0.01,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
  });
  alarm("archive-stale", "archive-stale", {
    alarmDescription: "The archive is more than 15 minutes behind its buffer interval",
    namespace: "AWS/Firehose",
    metricName: "DeliveryToS3.DataFreshness",
    dimensions: { DeliveryStreamName: r.archive.firehose.name },
    statistic: "Maximum",
    period: 300,
    evaluationPeriods: 1,
    threshold: ctx.config.archiveBufferSeconds + 900,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
  });

  // Runs hourly: one failed run leaves the analyst tables an hour staler, and is worth a look.
  alarm("order-tables-errors", "order-tables-errors", {
    alarmDescription: "The order-tables Lambda failed in the last hour: the analyst tables under tables/ may be stale " +
      "(the next hourly run rebuilds the day; its log group says why this one failed)",
    namespace: "AWS/Lambda",
    metricName: "Errors",
    dimensions: { FunctionName: r.orderTables.fn.name },
    statistic: "Sum",
    period: 3600,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
  });

  for (const provisioned of r.provisionedTables ?? []) {
    const throttled = (dimensions: Record<string, pulumi.Input<string>>) => ({
      namespace: "AWS/DynamoDB", metricName: "WriteThrottleEvents", dimensions, stat: "Sum", period: 300,
    });
    const [min, max] = provisioned.settings;
    // The index's throttled writes throttle the table's writes: both are counted.
    alarm(`${provisioned.id}-write-throttled`, "table-write-throttled", {
      alarmDescription: `Writes to the ${provisioned.id.replace(/-table$/, "")} table${provisioned.index ? " or its index" : ""} ` +
        `throttled for ${WRITE_THROTTLE_PERIODS * 5} minutes: its provisioned capacity is short of the load. The consumers ` +
        "retry and fall behind, and dead-letter a record after 10 attempts or an hour: raise " +
        `${min} (and ${max} if auto scaling has reached it), then pulumi up`,
      metricQueries: [
        { id: "table", metric: throttled({ TableName: provisioned.table.name }) },
        ...(provisioned.index
          ? [{ id: "index", metric: throttled({ TableName: provisioned.table.name, GlobalSecondaryIndexName: provisioned.index }) }]
          : []),
        {
          id: "throttled",
          expression: provisioned.index ? "FILL(table, 0) + FILL(index, 0)" : "FILL(table, 0)",
          label: "Throttled writes",
          returnData: true,
        },
      ],
      evaluationPeriods: WRITE_THROTTLE_PERIODS,
      datapointsToAlarm: WRITE_THROTTLE_PERIODS,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
  }

  const dashboardName = ctx.name("pipeline");
  const widget = (title: string, metrics: unknown[][], x: number, y: number, period = 60) => ({
    type: "metric",
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, metrics, region: ctx.region, period, view: "timeSeries", stacked: false },
  });
  const consumerFunctions = lambdaConsumers(r.consumers).map((c) => c.lambda.fn.name);
  const workers = fargateConsumers(r.consumers).map((c) => ({ consumer: c.name, cluster: c.worker.cluster.name, service: c.worker.service.name }));
  const dashboard = new aws.cloudwatch.Dashboard(dashboardName, {
    dashboardName,
    dashboardBody: pulumi.jsonStringify(pulumi.output({
      apiName: r.api.restApi.name, streamName: r.stream.name, tableName: r.ordersTable.name, firehoseName: r.archive.firehose.name,
      region: ctx.region, consumerFns: consumerFunctions, alarmArns: alarms.map((a) => a.arn), orderTablesFn: r.orderTables.fn.name,
      workerServices: workers,
    }).apply(({ apiName, streamName, tableName, firehoseName, region, consumerFns, alarmArns, orderTablesFn, workerServices }) => ({
      widgets: [
        widget("API requests and errors", [
          ["AWS/ApiGateway", "Count", "ApiName", apiName, "Stage", STAGE, { stat: "Sum" }],
          [".", "4XXError", ".", ".", ".", ".", { stat: "Sum" }],
          [".", "5XXError", ".", ".", ".", ".", { stat: "Sum" }],
          [API_THROTTLED_METRIC.namespace, API_THROTTLED_METRIC.metricName, { stat: "Sum" }],
        ], 0, 0),
        widget("API latency (p99, ms)", [["AWS/ApiGateway", "Latency", "ApiName", apiName, "Stage", STAGE, { stat: "p99" }]], 12, 0),
        widget("Orders onto the stream", [
          ["AWS/Kinesis", "IncomingRecords", "StreamName", streamName, { stat: "Sum" }],
          [".", "WriteProvisionedThroughputExceeded", ".", ".", { stat: "Sum" }],
        ], 0, 6),
        widget("Consumers behind the stream (ms)", [
          ...consumerFns.map((fn) => ["AWS/Lambda", "IteratorAge", "FunctionName", fn, { stat: "Maximum" }]),
          ...workerServices.map((w) =>
            [EFO_BEHIND_METRIC.namespace, EFO_BEHIND_METRIC.metricName, "StreamName", streamName, "ConsumerName", w.consumer, { stat: "Maximum" }]),
        ], 12, 6),
        // A widget needs a metric: with every consumer on Fargate there is no Lambda to show.
        ...(consumerFns.length === 0 ? [] : [widget("Consumer errors and throttles", consumerFns.flatMap((fn) => [
          ["AWS/Lambda", "Errors", "FunctionName", fn, { stat: "Sum" }],
          [".", "Throttles", ".", ".", { stat: "Sum" }],
        ]), 0, 12)]),
        widget("Orders table writes (WCU)", [
          ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", tableName, { stat: "Sum" }],
        ], 12, 12),
        widget("Archive freshness (s)", [
          ["AWS/Firehose", "DeliveryToS3.DataFreshness", "DeliveryStreamName", firehoseName, { stat: "Maximum" }],
        ], 0, 18),
        { type: "alarm", x: 12, y: 18, width: 12, height: 6, properties: { title: "Alarms", alarms: alarmArns, region } },
        // Hourly runs: hourly sums.
        widget("Order tables runs (hourly)", [
          ["AWS/Lambda", "Invocations", "FunctionName", orderTablesFn, { stat: "Sum" }],
          [".", "Errors", ".", ".", { stat: "Sum" }],
          [".", "Throttles", ".", ".", { stat: "Sum" }],
        ], 0, 24, 3600),
        widget("Order tables run duration (ms)", [
          ["AWS/Lambda", "Duration", "FunctionName", orderTablesFn, { stat: "Maximum" }],
        ], 12, 24, 3600),
        ...(workerServices.length === 0 ? [] : [
          widget("Fargate workers' CPU and memory (% of the task)", workerServices.flatMap((w) => [
            [SERVICE_CPU_METRIC.namespace, "CPUUtilization", "ClusterName", w.cluster, "ServiceName", w.service, { stat: "Maximum" }],
            [".", "MemoryUtilization", ".", ".", ".", ".", { stat: "Maximum" }],
          ]), 0, 30),
        ]),
      ],
    }))),
  });
  const dashboardUrl = pulumi.interpolate`https://${ctx.region}.console.aws.amazon.com/cloudwatch/home?region=${ctx.region}#dashboards:name=${dashboardName}`;
  return { topic, alarms, dashboard, dashboardUrl };
}
