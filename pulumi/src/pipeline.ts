// The pipeline's AWS resources. Names and keys match the local stack (ingest::config,
// processors::store), so the same binaries run against either.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { PipelineConfig } from "./config";

/** The enhanced fan-out consumers, one per processor (ingest::config::consumers). */
export const CONSUMERS = ["orders-materialiser"] as const;
/** The orders table's index listing a customer's orders by time (ingest::config). */
export const ORDERS_BY_CUSTOMER_INDEX = "byCustomer";

export interface Pipeline {
  key: aws.kms.Key;
  stream: aws.kinesis.Stream;
  consumers: Record<(typeof CONSUMERS)[number], aws.kinesis.StreamConsumer>;
  ordersTable: aws.dynamodb.Table;
}

export function createPipeline(config: PipelineConfig): Pipeline {
  const tags = { project: "orders-pipeline", stack: pulumi.getStack(), ...config.tags };
  const name = (suffix: string) => `${config.prefix}-${suffix}`;

  // One customer-managed key encrypts the stream and the tables at rest.
  const key = new aws.kms.Key(name("key"), {
    description: "Encrypts the orders stream and tables at rest",
    enableKeyRotation: true,
    deletionWindowInDays: 30,
    tags,
  }, { protect: config.production });
  new aws.kms.Alias(name("key-alias"), { name: `alias/${name("pipeline")}`, targetKeyId: key.keyId });

  const stream = new aws.kinesis.Stream(name("stream"), {
    name: config.prefix,
    streamModeDetails: { streamMode: config.streamMode },
    shardCount: config.streamMode === "PROVISIONED" ? config.shardCount : undefined,
    retentionPeriod: config.retentionHours,
    encryptionType: "KMS",
    kmsKeyId: key.arn,
    tags,
  }, { protect: config.production });

  const consumers = Object.fromEntries(
    CONSUMERS.map((consumer) => [
      consumer,
      new aws.kinesis.StreamConsumer(consumer, { name: consumer, streamArn: stream.arn }),
    ]),
  ) as Pipeline["consumers"];

  const ordersTable = new aws.dynamodb.Table(name("orders-table"), {
    name: config.prefix,
    billingMode: "PAY_PER_REQUEST",
    hashKey: "orderId",
    attributes: [
      { name: "orderId", type: "S" },
      { name: "customerId", type: "S" },
      { name: "placedAt", type: "S" },
    ],
    globalSecondaryIndexes: [
      { name: ORDERS_BY_CUSTOMER_INDEX, hashKey: "customerId", rangeKey: "placedAt", projectionType: "KEYS_ONLY" },
    ],
    pointInTimeRecovery: { enabled: true },
    serverSideEncryption: { enabled: true, kmsKeyArn: key.arn },
    deletionProtectionEnabled: config.production,
    tags,
  }, { protect: config.production });

  return { key, stream, consumers, ordersTable };
}
