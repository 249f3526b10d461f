// Each consumer: its enhanced fan-out consumer, its Rust Lambda with its own role, and the
// event source mapping with the settings the Lambda host publishes in
// processors/lambda-event-sources.json. The consumer counts attempts at a failing record in the
// failures table and writes a record it gives up on (poison, or past its attempt or age limit)
// to the dead-letter bucket under dead-letters/<consumer>/; a batch that keeps failing past the
// mapping's limits is written there too, payload and all, by Lambda.
import * as fs from "node:fs";
import * as path from "node:path";

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { Context, Grant } from "./context";
import { RustLambda, rustLambda } from "./lambdas";

export const EVENT_SOURCES_FILE = path.resolve(__dirname, "../../processors/lambda-event-sources.json");

/** One consumer's mapping settings, as the Lambda host publishes them (AWS API names). */
export interface EventSourceSettings {
  lambdaBinary: string;
  BatchSize: number;
  MaximumBatchingWindowInSeconds: number;
  ParallelizationFactor: number;
  StartingPosition: "TRIM_HORIZON" | "LATEST";
  FunctionResponseTypes: string[];
  BisectBatchOnFunctionError: boolean;
  MaximumRetryAttempts: number;
  MaximumRecordAgeInSeconds: number;
  OnFailure: "dead-letter-bucket";
}

export function eventSources(): Record<string, EventSourceSettings> {
  return JSON.parse(fs.readFileSync(EVENT_SOURCES_FILE, "utf8")).consumers;
}

export interface Consumer {
  name: string;
  efo: aws.kinesis.StreamConsumer;
  lambda: RustLambda;
  mapping: aws.lambda.EventSourceMapping;
}

/** Where every consumer finds the failures table and the dead-letter bucket (ingest::config). */
export const FAILURES_TABLE_VAR = "ORDERS_FAILURES_TABLE_NAME";
export const DEAD_LETTER_BUCKET_VAR = "ORDERS_DEAD_LETTER_BUCKET";

export interface ConsumerResources {
  stream: aws.kinesis.Stream;
  key: aws.kms.Key;
  deadLetters: aws.s3.Bucket;
  /** Failing records' attempts, which every consumer updates (and only updates). */
  failuresTable: aws.dynamodb.Table;
  /** What each consumer needs beyond reading the stream, by consumer name. */
  grants: Record<string, Grant[]>;
  environment: Record<string, pulumi.Input<string>>;
}

export function createConsumers(ctx: Context, resources: ConsumerResources): Consumer[] {
  const { stream, key, deadLetters, failuresTable } = resources;
  const environment = {
    ...resources.environment,
    [FAILURES_TABLE_VAR]: failuresTable.name,
    [DEAD_LETTER_BUCKET_VAR]: deadLetters.bucket,
  };
  return Object.entries(eventSources()).map(([name, settings]) => {
    const efo = new aws.kinesis.StreamConsumer(name, { name, streamArn: stream.arn });
    const lambda = rustLambda(ctx, name.replace(/^orders-/, ""), settings.lambdaBinary, [
      { actions: ["kinesis:SubscribeToShard", "kinesis:DescribeStreamConsumer"], resources: [efo.arn] },
      {
        actions: ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
        resources: [stream.arn],
      },
      // The consumer's attempts at a failing record: ADD/SET on one item, nothing else.
      { actions: ["dynamodb:UpdateItem"], resources: [failuresTable.arn] },
      // Dead letters: the consumer's own under dead-letters/<consumer>/, and the on-failure
      // destination's under aws/lambda/, which Lambda writes with the function's role.
      { actions: ["s3:PutObject"], resources: [pulumi.interpolate`${deadLetters.arn}/*`] },
      { actions: ["s3:ListBucket"], resources: [deadLetters.arn] },
      // Decrypt the stream and the failures table; encrypt dead letters and failures.
      { actions: ["kms:Decrypt", "kms:GenerateDataKey"], resources: [key.arn] },
      ...(resources.grants[name] ?? []),
    ], environment);
    const mapping = new aws.lambda.EventSourceMapping(name, {
      // For enhanced fan-out the source is the consumer, not the stream.
      eventSourceArn: efo.arn,
      functionName: lambda.fn.arn,
      startingPosition: settings.StartingPosition,
      batchSize: settings.BatchSize,
      maximumBatchingWindowInSeconds: settings.MaximumBatchingWindowInSeconds,
      parallelizationFactor: settings.ParallelizationFactor,
      functionResponseTypes: settings.FunctionResponseTypes,
      bisectBatchOnFunctionError: settings.BisectBatchOnFunctionError,
      maximumRetryAttempts: settings.MaximumRetryAttempts,
      maximumRecordAgeInSeconds: settings.MaximumRecordAgeInSeconds,
      destinationConfig: { onFailure: { destinationArn: deadLetters.arn } },
      tags: ctx.tags,
    });
    return { name, efo, lambda, mapping };
  });
}
