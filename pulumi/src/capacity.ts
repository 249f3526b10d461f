// DynamoDB capacity of the orders and idempotency tables: on-demand (the default), or provisioned
// with Application Auto Scaling between a minimum and a maximum (`dynamodbCapacity provisioned`).
//
// Every write to those tables comes from a stream consumer, never from a client waiting on it:
// Kinesis holds a spike, and a throttled write is retried (by the AWS SDK, then by the engine on
// the record's redelivery), so writes can be planned at a rate and bought as provisioned capacity,
// which costs less per write than on-demand when it is well used. What exceeds the capacity waits
// in the stream; past the engine's attempt or age limit (CONSUMER_MAX_ATTEMPTS, 10;
// CONSUMER_MAX_RECORD_AGE_SECONDS, 1 hour) a record is dead-lettered, so capacity is planned for a
// sale, not left to auto scaling to find (see the throttling alarm in src/monitoring.ts).
//
// The failures table stays on-demand in either mode. It is written only when records fail, and
// most of all exactly when the provisioned tables throttle (each failed attempt is counted there);
// provisioned, it would cost its minimum every hour to sit idle, and throttle in turn when it is
// needed, leaving failures uncounted. There is no checkpoints table on AWS: Lambda's event source
// mappings keep their own checkpoints (processors/src/checkpoint.rs is the standalone hosts').
//
// Application Auto Scaling acts through the service-linked role
// AWSServiceRoleForApplicationAutoScaling_DynamoDBTable, which it creates itself the first time a
// DynamoDB scalable target is registered in the account (the deployer needs
// iam:CreateServiceLinkedRole then). The program creates no role for it: the role is the
// account's, and a stack that created it would delete it for every other table on destroy.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { MIN_WARM_WRITE_UNITS, PipelineConfig, provisionedSettings } from "./config";
import { Context } from "./context";

/** Auto scaling keeps consumed capacity at this percentage of provisioned capacity (AWS's default). */
export const TARGET_UTILIZATION = 70;

/**
 * Writes to the orders table for each write to its index (KEYS_ONLY on customerId, placedAt):
 * an order is one PutItem, which writes the index entry, then one UpdateItem per saga stage
 * (1 + 3), which set steps, status and rank and leave the index keys alone. The index's minimum
 * write capacity is the table's divided by this; its maximum is the table's, since while the saga
 * stages lag (a service down) the table takes puts only, one index write each.
 */
export const ORDERS_WRITES_PER_INDEX_WRITE = 4;

/** Nothing in the pipeline reads the idempotency table (a claim is a conditional PutItem): it gets DynamoDB's minimum. */
export const IDEMPOTENCY_READ_CAPACITY = 1;

export interface CapacityRange {
  min: number;
  max: number;
}

/** What `provisioned` builds: each table's and the index's capacity, from the settings. */
export interface ProvisionedCapacity {
  ordersWrite: CapacityRange;
  ordersRead: CapacityRange;
  indexWrite: CapacityRange;
  indexRead: CapacityRange;
  idempotencyWrite: CapacityRange;
  /** Fixed, not scaled. */
  idempotencyRead: number;
  /** Whether this update sets the capacities itself (dynamodbSwitchToProvisioned), rather than leave them to auto scaling. */
  setCapacity: boolean;
}

/** The provisioned capacity of a validated configuration, or undefined when the tables are on-demand. */
export function provisionedCapacity(config: PipelineConfig): ProvisionedCapacity | undefined {
  if (config.dynamodbCapacity !== "provisioned") return undefined;
  const s = provisionedSettings(config);
  const ordersWrite = { min: s.ordersWriteCapacity, max: s.ordersMaxWriteCapacity };
  const ordersRead = { min: s.ordersReadCapacity, max: s.ordersMaxReadCapacity };
  return {
    ordersWrite,
    ordersRead,
    indexWrite: { min: Math.ceil(ordersWrite.min / ORDERS_WRITES_PER_INDEX_WRITE), max: ordersWrite.max },
    indexRead: ordersRead,
    idempotencyWrite: { min: s.idempotencyWriteCapacity, max: s.idempotencyMaxWriteCapacity },
    idempotencyRead: IDEMPOTENCY_READ_CAPACITY,
    setCapacity: config.dynamodbSwitchToProvisioned,
  };
}

/** A table's billing arguments: on-demand as before, or provisioned at these capacities (the minimums). */
export function billing(capacity?: { read: number; write: number }): Pick<aws.dynamodb.TableArgs, "billingMode" | "readCapacity" | "writeCapacity"> {
  return capacity === undefined
    ? { billingMode: "PAY_PER_REQUEST" }
    : { billingMode: "PROVISIONED", readCapacity: capacity.read, writeCapacity: capacity.write };
}

/**
 * The capacity properties Pulumi must leave to auto scaling: otherwise an update after auto
 * scaling moved them (once Pulumi has read the table's capacity, on a refresh or after any update
 * of it) sets them back to the minimums, in the middle of the load that raised them.
 *
 * ignoreChanges keeps the previous inputs' value, and drops a property the previous inputs lack:
 * so on the update that switches an existing on-demand table, the capacities would not be sent.
 * The provider then gives the table 1 unit of each (which registering the scalable target raises to
 * the minimum), but nothing of the kind is documented for an index, and UpdateTable needs the
 * index's capacity too. dynamodbSwitchToProvisioned makes that one update send them.
 */
export function scaledCapacityIgnored(capacity: ProvisionedCapacity | undefined, properties: string[]): pulumi.CustomResourceOptions {
  return capacity === undefined || capacity.setCapacity ? {} : { ignoreChanges: properties };
}

/**
 * A table's or index's warm throughput (pre-warming for a sale): the write units per second it can
 * take at once, whatever its capacity mode; nothing when unset, which leaves DynamoDB's own.
 */
export function warmWrites(units: number | undefined): Pick<aws.dynamodb.TableArgs, "warmThroughput"> {
  return units === undefined ? {} : { warmThroughput: { writeUnitsPerSecond: units } };
}

/**
 * The orders table's index's warm write throughput, from the table's: a quarter of it (rounded up;
 * one index write per ORDERS_WRITES_PER_INDEX_WRITE table writes), but never below the least
 * DynamoDB takes. Undefined when the table is not pre-warmed.
 */
export function indexWarmWriteUnits(ordersWarmWriteUnits: number | undefined): number | undefined {
  return ordersWarmWriteUnits === undefined
    ? undefined
    : Math.max(MIN_WARM_WRITE_UNITS, Math.ceil(ordersWarmWriteUnits / ORDERS_WRITES_PER_INDEX_WRITE));
}

/** What auto scaling scales: a table or one of its indexes, for writes or reads. */
export interface Scaled {
  /** Names the resources: `<prefix>-<id>-scaling`. */
  id: string;
  table: aws.dynamodb.Table;
  /** An index of the table, or the table itself. */
  index?: string;
  dimension: "write" | "read";
  range: CapacityRange;
}

export interface AutoScaling {
  target: aws.appautoscaling.Target;
  policy: aws.appautoscaling.Policy;
}

/** Application Auto Scaling's name for a table (`table/<name>`) or an index (`table/<name>/index/<index>`). */
export function scalingResourceId(tableName: pulumi.Input<string>, index?: string): pulumi.Output<string> {
  return index === undefined ? pulumi.interpolate`table/${tableName}` : pulumi.interpolate`table/${tableName}/index/${index}`;
}

/** A scalable target between the range's minimum and maximum, tracking TARGET_UTILIZATION percent of its capacity. */
export function autoScale(ctx: Context, scaled: Scaled): AutoScaling {
  const units = scaled.dimension === "write" ? "WriteCapacityUnits" : "ReadCapacityUnits";
  const name = ctx.name(`${scaled.id}-scaling`);
  // Depends on the table (its name), so it is registered once the table is provisioned.
  const target = new aws.appautoscaling.Target(name, {
    serviceNamespace: "dynamodb",
    resourceId: scalingResourceId(scaled.table.name, scaled.index),
    scalableDimension: `dynamodb:${scaled.index === undefined ? "table" : "index"}:${units}`,
    minCapacity: scaled.range.min,
    maxCapacity: scaled.range.max,
    tags: ctx.tags,
  });
  const policy = new aws.appautoscaling.Policy(name, {
    name,
    policyType: "TargetTrackingScaling",
    serviceNamespace: target.serviceNamespace,
    resourceId: target.resourceId,
    scalableDimension: target.scalableDimension,
    targetTrackingScalingPolicyConfiguration: {
      predefinedMetricSpecification: {
        predefinedMetricType: scaled.dimension === "write" ? "DynamoDBWriteCapacityUtilization" : "DynamoDBReadCapacityUtilization",
      },
      targetValue: TARGET_UTILIZATION,
    },
  });
  return { target, policy };
}
