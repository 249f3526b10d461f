// Each consumer: its enhanced fan-out consumer, and its host. By default (consumerHosts) a Rust
// Lambda with its own role and the event source mapping with the settings the Lambda host
// publishes in processors/lambda-event-sources.json; or standalone workers on ECS Fargate
// (src/fargate.ts) that read the same enhanced fan-out consumer and share its shards through the
// lease table. The consumer counts attempts at a failing record in the failures table and writes
// a record it gives up on (poison, or past its attempt or age limit) to the dead-letter bucket
// under dead-letters/<consumer>/; a batch that keeps failing past the mapping's limits is
// written there too, payload and all, by Lambda.
import * as path from "node:path";

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { consumerHost } from "./config";
import { Context, Grant, ownItemsOnly } from "./context";
import { Worker, createWorker, workerPlatform } from "./fargate";
import { RustLambda, rustLambda } from "./lambdas";
import { EVENT_SOURCES_FILE, eventSources } from "./sources";

export { EVENT_SOURCES_FILE, eventSources } from "./sources";
export type { EventSourceSettings } from "./sources";
export { ownItemsOnly } from "./context";

/** What every consumer is, however it is hosted. */
interface HostedConsumer {
  /** Its name in processors/lambda-event-sources.json, also its enhanced fan-out consumer's. */
  name: string;
  efo: aws.kinesis.StreamConsumer;
}

/** A consumer run by Lambda from its enhanced fan-out consumer (the default). */
export interface LambdaConsumer extends HostedConsumer {
  host: "lambda";
  lambda: RustLambda;
  mapping: aws.lambda.EventSourceMapping;
}

/** A consumer run by standalone workers on Fargate (consumerHosts): no Lambda, no mapping. */
export interface FargateConsumer extends HostedConsumer {
  host: "fargate";
  worker: Worker;
}

export type Consumer = LambdaConsumer | FargateConsumer;

/** Where every consumer finds the failures table and the dead-letter bucket (ingest::config). */
export const FAILURES_TABLE_VAR = "ORDERS_FAILURES_TABLE_NAME";
export const DEAD_LETTER_BUCKET_VAR = "ORDERS_DEAD_LETTER_BUCKET";


/** What one consumer needs beyond reading the stream and recording its failures and dead letters. */
export interface ConsumerAccess {
  grants: Grant[];
  /** Its own environment variables, on top of those every consumer gets. */
  environment?: Record<string, pulumi.Input<string>>;
  /** The https:// URLs it calls outside AWS (a saga stage's service), which a Fargate worker's network must reach. */
  endpoints?: string[];
}

export interface ConsumerResources {
  stream: aws.kinesis.Stream;
  key: aws.kms.Key;
  deadLetters: aws.s3.Bucket;
  /** Failing records' attempts, which every consumer updates (and only updates). */
  failuresTable: aws.dynamodb.Table;
  /**
   * Each consumer's own access, by consumer name. Every consumer the JSON file lists must have
   * an entry (a consumer listed without grants is a configuration error, not an empty role),
   * and every entry must be a listed consumer.
   */
  access: Record<string, ConsumerAccess>;
  /** The environment every consumer gets. */
  environment: Record<string, pulumi.Input<string>>;
  /** The Fargate workers' shard leases and checkpoints: required once a consumer is on Fargate, unused otherwise. */
  leasesTable?: aws.dynamodb.Table;
}

/** Throws, before anything is created, unless the listed consumers and `access` name the same consumers. */
export function checkAccess(listed: string[], access: Record<string, ConsumerAccess>): void {
  const problems: string[] = [];
  for (const name of listed) {
    if (!Object.hasOwn(access, name)) {
      problems.push(
        `consumer ${name} is listed in ${path.basename(EVENT_SOURCES_FILE)} but the Pulumi program defines no grants ` +
          `for it (pulumi/src/pipeline.ts): a consumer listed without grants is a configuration error, not an empty role`,
      );
    }
  }
  for (const name of Object.keys(access)) {
    if (!listed.includes(name)) {
      problems.push(`grants are defined for consumer ${name}, which ${path.basename(EVENT_SOURCES_FILE)} does not list`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
}

export function createConsumers(ctx: Context, resources: ConsumerResources): Consumer[] {
  const { stream, key, deadLetters, failuresTable } = resources;
  const sources = eventSources();
  checkAccess(Object.keys(sources), resources.access);
  const onFargate = Object.keys(sources).filter((name) => consumerHost(ctx.config, name) === "fargate");
  // One cluster and security group for every worker, and only when there is one.
  const platform = onFargate.length === 0
    ? undefined
    : workerPlatform(ctx, onFargate.flatMap((name) => resources.access[name].endpoints ?? []));
  return Object.entries(sources).map(([name, settings]): Consumer => {
    const access = resources.access[name];
    const environment = {
      ...resources.environment,
      ...access.environment,
      [FAILURES_TABLE_VAR]: failuresTable.name,
      [DEAD_LETTER_BUCKET_VAR]: deadLetters.bucket,
    };
    const efo = new aws.kinesis.StreamConsumer(name, { name, streamArn: stream.arn });
    // What the consumer does with the pipeline's data: the same on either host.
    const dataGrants: Grant[] = [
      // The consumer's attempts at a failing record: ADD/SET on one item of its own, nothing else.
      { actions: ["dynamodb:UpdateItem"], resources: [failuresTable.arn], condition: ownItemsOnly(name) },
      // Dead letters: the consumer's own under dead-letters/<consumer>/, and the on-failure
      // destination's under aws/lambda/, which Lambda writes with the function's role.
      { actions: ["s3:PutObject"], resources: [pulumi.interpolate`${deadLetters.arn}/*`] },
      { actions: ["s3:ListBucket"], resources: [deadLetters.arn] },
      // Decrypt the stream and the tables; encrypt dead letters, failures, idempotency records
      // and the lifecycle events the saga stages put onto the stream.
      { actions: ["kms:Decrypt", "kms:GenerateDataKey"], resources: [key.arn] },
      ...access.grants,
    ];
    if (consumerHost(ctx.config, name) === "fargate") {
      if (platform === undefined || resources.leasesTable === undefined) {
        throw new Error(`consumer ${name} is on Fargate, but the program made no worker platform or lease table for it`);
      }
      const worker = createWorker(ctx, {
        consumer: name, efo, stream, key, leasesTable: resources.leasesTable, platform, grants: dataGrants, environment,
      });
      return { host: "fargate", name, efo, worker };
    }
    const lambda = rustLambda(ctx, name.replace(/^orders-/, ""), settings.lambdaBinary, [
      { actions: ["kinesis:SubscribeToShard", "kinesis:DescribeStreamConsumer"], resources: [efo.arn] },
      {
        actions: ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
        resources: [stream.arn],
      },
      ...dataGrants,
    ], environment);
    const mapping = new aws.lambda.EventSourceMapping(name, {
      // For enhanced fan-out the source is the consumer, not the stream.
      eventSourceArn: efo.arn,
      functionName: lambda.fn.arn,
      startingPosition: settings.StartingPosition,
      batchSize: settings.BatchSize,
      maximumBatchingWindowInSeconds: settings.MaximumBatchingWindowInSeconds,
      // For a sale (consumerParallelizationFactor) the same for every consumer; unset, the published value.
      parallelizationFactor: ctx.config.consumerParallelizationFactor ?? settings.ParallelizationFactor,
      functionResponseTypes: settings.FunctionResponseTypes,
      bisectBatchOnFunctionError: settings.BisectBatchOnFunctionError,
      maximumRetryAttempts: settings.MaximumRetryAttempts,
      maximumRecordAgeInSeconds: settings.MaximumRecordAgeInSeconds,
      destinationConfig: { onFailure: { destinationArn: deadLetters.arn } },
      tags: ctx.tags,
    });
    return { host: "lambda", name, efo, lambda, mapping };
  });
}

/** The consumers a Lambda runs. */
export function lambdaConsumers(consumers: Consumer[]): LambdaConsumer[] {
  return consumers.filter((c): c is LambdaConsumer => c.host === "lambda");
}

/** The consumers Fargate workers run. */
export function fargateConsumers(consumers: Consumer[]): FargateConsumer[] {
  return consumers.filter((c): c is FargateConsumer => c.host === "fargate");
}
