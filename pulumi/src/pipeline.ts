// The whole pipeline: key, stream, tables, consumers, API, archive, analyst tables and
// queries, and monitoring. Names and
// keys match the local stack (ingest::config, processors::store), so the same binaries run
// against either.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { OrderTables, createNamedQueries, createOrderTables } from "./analytics";
import { Api, createApi } from "./api";
import { Archive, createArchive, privateBucket } from "./archive";
import {
  AutoScaling, autoScale, billing, indexWarmWriteUnits, provisionedCapacity, Scaled, scaledCapacityIgnored, warmWrites,
} from "./capacity";
import { PipelineConfig, ServiceUrlKey, consumersOnFargate } from "./config";
import { ConsumerAccess, Consumer, createConsumers, ownItemsOnly } from "./consumers";
import { Context, Grant, context } from "./context";
import { LEASES_HASH_KEY, LEASES_RANGE_KEY, workerLogsKeyStatement } from "./fargate";
import { Monitoring, createMonitoring } from "./monitoring";

/** The orders table's index listing a customer's orders by time (ingest::config). */
export const ORDERS_BY_CUSTOMER_INDEX = "byCustomer";

/** The failures table's key and TTL attribute, as the consumer engine writes them (processors). */
export const FAILURES_HASH_KEY = "consumer";
export const FAILURES_RANGE_KEY = "record";
export const FAILURES_TTL_ATTRIBUTE = "expiresAt";

/** The idempotency table's key, as the saga stages write it (processors::saga::idempotency). */
export const IDEMPOTENCY_HASH_KEY = "consumer";
export const IDEMPOTENCY_RANGE_KEY = "key";

/** Where the saga stages find the idempotency table (ingest::config). */
export const IDEMPOTENCY_TABLE_VAR = "ORDERS_IDEMPOTENCY_TABLE_NAME";
/** Where the materialiser finds the orders table (ingest::config). */
export const ORDERS_TABLE_VAR = "ORDERS_TABLE_NAME";

/**
 * How the saga stages authenticate to their services (none, iam or api-key; absent is none), and
 * the SSM parameter holding the API key with api-key. The host reads them; only the saga
 * stages are given them.
 */
export const DOWNSTREAM_AUTH_VAR = "DOWNSTREAM_AUTH";
export const DOWNSTREAM_API_KEY_PARAMETER_VAR = "DOWNSTREAM_API_KEY_PARAMETER";

/**
 * The saga stages: each calls its downstream service, whose base URL comes from the stack's
 * config key and reaches the function as the variable the host reads (ingest::config::downstream).
 */
export const SAGA_STAGES: Record<string, { urlConfig: ServiceUrlKey; urlVar: string }> = {
  "orders-inventory": { urlConfig: "inventoryUrl", urlVar: "INVENTORY_URL" },
  "orders-fulfilment": { urlConfig: "fulfilmentUrl", urlVar: "FULFILMENT_URL" },
  "orders-accounting": { urlConfig: "accountingUrl", urlVar: "ACCOUNTING_URL" },
};

export interface Pipeline {
  key: aws.kms.Key;
  stream: aws.kinesis.Stream;
  ordersTable: aws.dynamodb.Table;
  failuresTable: aws.dynamodb.Table;
  idempotencyTable: aws.dynamodb.Table;
  /** The Fargate workers' shard leases and checkpoints: only when a consumer is on Fargate (consumerHosts). */
  leasesTable?: aws.dynamodb.Table;
  /** With `dynamodbCapacity provisioned`: a scalable target and policy for each table's and the index's capacity; none on-demand. */
  autoScaling: AutoScaling[];
  deadLetters: aws.s3.Bucket;
  /** The SSM SecureString the saga stages read their services' API key from (downstreamAuth api-key only). */
  downstreamApiKey?: aws.ssm.Parameter;
  consumers: Consumer[];
  api: Api;
  archive: Archive;
  /** The order-tables Lambda, which rebuilds the analyst tables hourly, and its schedule. */
  orderTables: OrderTables;
  /** One per analytics/queries/*.sql file, in the archive's workgroup. */
  namedQueries: aws.athena.NamedQuery[];
  monitoring: Monitoring;
}

/**
 * One customer-managed key for the stream, tables, buckets and the alarm topic, and the log groups
 * of the consumers on Fargate (`onFargate`), if any.
 */
function pipelineKey(ctx: Context, onFargate: string[]): aws.kms.Key {
  const key = new aws.kms.Key(ctx.name("key"), {
    description: "Encrypts the orders stream, tables, archive and alarm topic at rest",
    enableKeyRotation: true,
    deletionWindowInDays: 30,
    policy: pulumi.jsonStringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "AccountAdministersAndGrantsThroughIam",
          Effect: "Allow",
          Principal: { AWS: pulumi.interpolate`arn:aws:iam::${ctx.accountId}:root` },
          Action: "kms:*",
          Resource: "*",
        },
        {
          // Alarms and dead-letter notices are published to the encrypted topic by these services.
          Sid: "ServicesPublishToTheAlarmTopic",
          Effect: "Allow",
          Principal: { Service: ["cloudwatch.amazonaws.com", "s3.amazonaws.com"] },
          Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
          Resource: "*",
          Condition: { StringEquals: { "aws:SourceAccount": ctx.accountId } },
        },
        // Only with workers: the Lambdas' log groups are not encrypted with the key.
        ...(onFargate.length > 0 ? [workerLogsKeyStatement(ctx, onFargate)] : []),
      ],
    }),
    tags: ctx.tags,
  }, { protect: ctx.config.production });
  new aws.kms.Alias(ctx.name("key-alias"), { name: `alias/${ctx.name("pipeline")}`, targetKeyId: key.keyId });
  return key;
}

export function createPipeline(config: PipelineConfig): Pipeline {
  const ctx = context(config);
  const onFargate = consumersOnFargate(config);
  const key = pipelineKey(ctx, onFargate);
  // Undefined on-demand (the default): every table as it has always been.
  const capacity = provisionedCapacity(config);
  if (capacity?.setCapacity) {
    pulumi.log.warn(
      "dynamodbSwitchToProvisioned: this update sets the orders and idempotency tables' and the index's capacity to the " +
        "configured minimums. Once it has run, remove it (pulumi config rm dynamodbSwitchToProvisioned): while it is set, " +
        "every update sets back what auto scaling raised.",
    );
  }

  const stream = new aws.kinesis.Stream(ctx.name("stream"), {
    name: config.prefix,
    streamModeDetails: { streamMode: config.streamMode },
    shardCount: config.streamMode === "PROVISIONED" ? config.shardCount : undefined,
    retentionPeriod: config.retentionHours,
    encryptionType: "KMS",
    kmsKeyId: key.arn,
    tags: ctx.tags,
  }, { protect: config.production });

  const ordersTable = new aws.dynamodb.Table(ctx.name("orders-table"), {
    name: config.prefix,
    ...billing(capacity && { read: capacity.ordersRead.min, write: capacity.ordersWrite.min }),
    // Pre-warmed for a sale (ordersWarmWriteUnits); unset, nothing.
    ...warmWrites(config.ordersWarmWriteUnits),
    hashKey: "orderId",
    attributes: [
      { name: "orderId", type: "S" },
      { name: "customerId", type: "S" },
      { name: "placedAt", type: "S" },
    ],
    globalSecondaryIndexes: [
      {
        name: ORDERS_BY_CUSTOMER_INDEX, hashKey: "customerId", rangeKey: "placedAt", projectionType: "KEYS_ONLY",
        // Provisioned, an index has capacity of its own, scaled on its own.
        ...(capacity && { readCapacity: capacity.indexRead.min, writeCapacity: capacity.indexWrite.min }),
        ...warmWrites(indexWarmWriteUnits(config.ordersWarmWriteUnits)),
      },
    ],
    pointInTimeRecovery: { enabled: true },
    serverSideEncryption: { enabled: true, kmsKeyArn: key.arn },
    deletionProtectionEnabled: config.production,
    tags: ctx.tags,
  }, {
    protect: config.production,
    ...scaledCapacityIgnored(capacity, [
      "readCapacity", "writeCapacity", "globalSecondaryIndexes[*].readCapacity", "globalSecondaryIndexes[*].writeCapacity",
    ]),
  });

  // Each consumer's count of attempts at a failing record (processors' durable failure
  // tracking), one item per (consumer, record), deleted by TTL once it has expired.
  // Named as the local stack names it (ingest::config::ResourceNames). On-demand whatever
  // dynamodbCapacity says: it is written when records fail (src/capacity.ts says why).
  const failuresTable = new aws.dynamodb.Table(ctx.name("failures-table"), {
    name: ctx.name("consumer-failures"),
    billingMode: "PAY_PER_REQUEST",
    hashKey: FAILURES_HASH_KEY,
    rangeKey: FAILURES_RANGE_KEY,
    attributes: [
      { name: FAILURES_HASH_KEY, type: "S" },
      { name: FAILURES_RANGE_KEY, type: "S" },
    ],
    ttl: { attributeName: FAILURES_TTL_ATTRIBUTE, enabled: true },
    pointInTimeRecovery: { enabled: true },
    serverSideEncryption: { enabled: true, kmsKeyArn: key.arn },
    deletionProtectionEnabled: config.production,
    tags: ctx.tags,
  }, { protect: config.production });

  // The saga stages' idempotency records, one per (consumer, `{orderId}:{call}`), so each
  // stage calls its service once per order however often an event is delivered. No TTL: a
  // record is kept as long as the archive keeps the events a replay could bring back.
  // Named as the local stack names it (ingest::config::ResourceNames).
  const idempotencyTable = new aws.dynamodb.Table(ctx.name("idempotency-table"), {
    name: ctx.name("idempotency"),
    ...billing(capacity && { read: capacity.idempotencyRead, write: capacity.idempotencyWrite.min }),
    ...warmWrites(config.idempotencyWarmWriteUnits),
    hashKey: IDEMPOTENCY_HASH_KEY,
    rangeKey: IDEMPOTENCY_RANGE_KEY,
    attributes: [
      { name: IDEMPOTENCY_HASH_KEY, type: "S" },
      { name: IDEMPOTENCY_RANGE_KEY, type: "S" },
    ],
    pointInTimeRecovery: { enabled: true },
    serverSideEncryption: { enabled: true, kmsKeyArn: key.arn },
    deletionProtectionEnabled: config.production,
    tags: ctx.tags,
  }, {
    protect: config.production,
    // Its read capacity is fixed, not scaled: only the write capacity is auto scaling's.
    ...scaledCapacityIgnored(capacity, ["writeCapacity"]),
  });

  // The Fargate workers' leases: one item per (consumer, shard) with its owner, expiry and
  // checkpoint (processors::lease), each worker reaching its own consumer's items only. Only
  // with a consumer on Fargate (Lambda keeps its own checkpoints); named as the local stack
  // names it (ingest::config::ResourceNames). On-demand: a few writes a second per shard.
  const leasesTable = onFargate.length === 0 ? undefined : new aws.dynamodb.Table(ctx.name("leases-table"), {
    name: ctx.name("leases"),
    billingMode: "PAY_PER_REQUEST",
    hashKey: LEASES_HASH_KEY,
    rangeKey: LEASES_RANGE_KEY,
    attributes: [
      { name: LEASES_HASH_KEY, type: "S" },
      { name: LEASES_RANGE_KEY, type: "S" },
    ],
    pointInTimeRecovery: { enabled: true },
    serverSideEncryption: { enabled: true, kmsKeyArn: key.arn },
    deletionProtectionEnabled: config.production,
    tags: ctx.tags,
  }, { protect: config.production });

  // Provisioned: each table's and the index's capacity between its minimum and maximum.
  const scaled: Scaled[] = capacity === undefined ? [] : [
    { id: "orders-table-write", table: ordersTable, dimension: "write", range: capacity.ordersWrite },
    { id: "orders-table-read", table: ordersTable, dimension: "read", range: capacity.ordersRead },
    { id: "orders-index-write", table: ordersTable, index: ORDERS_BY_CUSTOMER_INDEX, dimension: "write", range: capacity.indexWrite },
    { id: "orders-index-read", table: ordersTable, index: ORDERS_BY_CUSTOMER_INDEX, dimension: "read", range: capacity.indexRead },
    { id: "idempotency-table-write", table: idempotencyTable, dimension: "write", range: capacity.idempotencyWrite },
  ];
  const autoScaling = scaled.map((s) => autoScale(ctx, s));

  // Dead letters: records the consumers set aside (poison, or past the engine's attempt or age
  // limit), each as a JSON object under dead-letters/<consumer>/, and failed batches, payload
  // and all, from every consumer's event source mapping.
  const deadLetters = privateBucket(ctx, "dead-letters", key);
  const downstream = downstreamAccess(ctx);

  const consumers = createConsumers(ctx, {
    stream,
    key,
    deadLetters,
    failuresTable,
    access: {
      // Puts a new order, and folds lifecycle events into it with conditional UpdateItem.
      "orders-materialiser": {
        grants: [{ actions: ["dynamodb:PutItem", "dynamodb:UpdateItem"], resources: [ordersTable.arn] }],
        environment: { [ORDERS_TABLE_VAR]: ordersTable.name },
      },
      ...Object.fromEntries(Object.entries(SAGA_STAGES).map(([name, stage]) => [name, sagaStage(ctx, name, stage, stream, idempotencyTable, downstream)])),
    },
    environment: { ORDERS_STREAM_NAME: stream.name },
    leasesTable,
  });
  const api = createApi(ctx, { stream, key, ordersTable, ordersByCustomerIndex: ORDERS_BY_CUSTOMER_INDEX });
  const archive = createArchive(ctx, stream, key);
  const orderTables = createOrderTables(ctx, archive, key);
  const namedQueries = createNamedQueries(ctx, archive);
  const monitoring = createMonitoring(ctx, {
    key, stream, ordersTable, consumers, api, archive, orderTables: orderTables.lambda, deadLetters,
    provisionedTables: capacity === undefined ? [] : [
      { id: "orders-table", table: ordersTable, index: ORDERS_BY_CUSTOMER_INDEX, settings: ["ordersWriteCapacity", "ordersMaxWriteCapacity"] },
      { id: "idempotency-table", table: idempotencyTable, settings: ["idempotencyWriteCapacity", "idempotencyMaxWriteCapacity"] },
    ],
  });

  return {
    key, stream, ordersTable, failuresTable, idempotencyTable, leasesTable, autoScaling, deadLetters, downstreamApiKey: downstream.apiKey,
    consumers, api, archive, orderTables, namedQueries, monitoring,
  };
}

/** What the saga stages are given to authenticate to their services: the same for each. */
interface DownstreamAccess {
  grants: Grant[];
  environment: Record<string, pulumi.Input<string>>;
  apiKey?: aws.ssm.Parameter;
}

/**
 * The saga stages' credentials for their services, by `downstreamAuth`:
 * - none: nothing, and no variable (the host's default).
 * - iam: the right to invoke exactly the configured execute-api ARNs; the stage signs each
 *   request (SigV4, execute-api, its own region) with its own role.
 * - api-key: the key as a Standard-tier SSM SecureString under the AWS managed key aws/ssm, and
 *   the right to read exactly that parameter. No kms:Decrypt: the aws/ssm key's own policy lets
 *   every principal of the account decrypt through Parameter Store (AWS Systems Manager User
 *   Guide, "Restricting decryption of SecureString parameter values"), so a grant would add
 *   nothing.
 */
function downstreamAccess(ctx: Context): DownstreamAccess {
  const { downstreamAuth, downstreamInvokeArns, downstreamApiKey } = ctx.config;
  switch (downstreamAuth) {
    case "none":
      return { grants: [], environment: {} };
    case "iam":
      return {
        grants: [{ actions: ["execute-api:Invoke"], resources: downstreamInvokeArns }],
        environment: { [DOWNSTREAM_AUTH_VAR]: "iam" },
      };
    case "api-key": {
      if (downstreamApiKey === undefined) throw new Error("downstreamAuth api-key needs downstreamApiKey (validate() requires it)");
      const apiKey = new aws.ssm.Parameter(ctx.name("downstream-api-key"), {
        name: `/${ctx.config.prefix}/downstream-api-key`,
        description: "The API key the saga stages send their services as x-api-key (Pulumi config downstreamApiKey)",
        type: "SecureString",
        tier: "Standard",
        keyId: "alias/aws/ssm",
        value: downstreamApiKey.value,
        tags: ctx.tags,
      });
      return {
        grants: [{ actions: ["ssm:GetParameter"], resources: [apiKey.arn] }],
        environment: { [DOWNSTREAM_AUTH_VAR]: "api-key", [DOWNSTREAM_API_KEY_PARAMETER_VAR]: apiKey.name },
        apiKey,
      };
    }
    default:
      throw new Error(`downstreamAuth '${downstreamAuth as string}' is none of none, iam, api-key (validate() refuses it)`);
  }
}

/**
 * A saga stage: looks up and records its own idempotency records (GetItem and a conditional
 * PutItem, on items keyed by its own name only), emits the next lifecycle event onto the
 * stream (PutRecords; the key's GenerateDataKey every consumer has), and is told its service's
 * URL and how to authenticate to it. It has no access to the orders table.
 */
function sagaStage(
  ctx: Context,
  name: string,
  stage: (typeof SAGA_STAGES)[string],
  stream: aws.kinesis.Stream,
  idempotencyTable: aws.dynamodb.Table,
  downstream: DownstreamAccess,
): ConsumerAccess {
  const grants: Grant[] = [
    { actions: ["dynamodb:GetItem", "dynamodb:PutItem"], resources: [idempotencyTable.arn], condition: ownItemsOnly(name) },
    { actions: ["kinesis:PutRecord", "kinesis:PutRecords"], resources: [stream.arn] },
    ...downstream.grants,
  ];
  return {
    grants,
    environment: {
      [IDEMPOTENCY_TABLE_VAR]: idempotencyTable.name,
      [stage.urlVar]: ctx.config[stage.urlConfig],
      ...downstream.environment,
    },
    endpoints: [ctx.config[stage.urlConfig]],
  };
}
