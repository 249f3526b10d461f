// The tables' capacity: on-demand by default, exactly as before; provisioned with auto scaling on
// `dynamodbCapacity provisioned`, validated with the other settings.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { Recorded, SERVICE_URLS, ofType, one, recorded, setStackConfig, settle, testConfig, value } from "./mocks";
import { ORDERS_WRITES_PER_INDEX_WRITE, TARGET_UTILIZATION } from "../src/capacity";
import { CAPACITY_DEFAULTS, CAPACITY_KEYS, CapacityKey, PipelineConfig, load, validate } from "../src/config";
import { createPipeline, ORDERS_BY_CUSTOMER_INDEX, Pipeline, SAGA_STAGES } from "../src/pipeline";

beforeEach(() => {
  recorded.length = 0;
});

const TABLE = "aws:dynamodb/table:Table";
const TARGET = "aws:appautoscaling/target:Target";
const POLICY = "aws:appautoscaling/policy:Policy";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const PROVISIONED = { dynamodbCapacity: "provisioned" } as const;
/** What the orders table's index is declared with, on-demand: no capacity of its own. */
const INDEX = { name: "byCustomer", hashKey: "customerId", rangeKey: "placedAt", projectionType: "KEYS_ONLY" };
/** What the orders table leaves to auto scaling when provisioned. */
const ORDERS_IGNORED = ["readCapacity", "writeCapacity", "globalSecondaryIndexes[*].readCapacity", "globalSecondaryIndexes[*].writeCapacity"];

/** Builds the pipeline from a configuration validate() accepts. */
async function build(overrides: Partial<PipelineConfig> = {}): Promise<Pipeline> {
  const pipeline = createPipeline(validate(testConfig(overrides)));
  await settle();
  return pipeline;
}

/** The three tables of a stack under the default prefix. */
function tables(prefix = "orders"): { orders: Recorded; failures: Recorded; idempotency: Recorded } {
  assert.equal(ofType(TABLE).length, 3);
  return {
    orders: one(TABLE, `${prefix}-orders-table`),
    failures: one(TABLE, `${prefix}-failures-table`),
    idempotency: one(TABLE, `${prefix}-idempotency-table`),
  };
}

/** Each scalable target as `<resourceId> <scalableDimension>` → [min, max]. */
function targets(): Record<string, [number, number]> {
  return Object.fromEntries(ofType(TARGET).map((t) => [`${t.inputs.resourceId} ${t.inputs.scalableDimension}`, [t.inputs.minCapacity, t.inputs.maxCapacity]]));
}

/** Throws unless `config` is refused with a message matching `pattern`. */
function refused(config: Partial<PipelineConfig>, pattern: RegExp | string): void {
  assert.throws(
    () => validate(testConfig(config)),
    (error: Error) => (typeof pattern === "string" ? error.message.includes(pattern) : pattern.test(error.message)),
    `${JSON.stringify(config)} should be refused with ${pattern}`,
  );
}

describe("on-demand, the default", () => {
  test("every table is on-demand as before: no capacity, nothing ignored, no auto scaling, no throttling alarm", async () => {
    const pipeline = await build();
    assert.equal(testConfig().dynamodbCapacity, "on-demand");
    const { orders, failures, idempotency } = tables();
    for (const table of [orders, failures, idempotency]) {
      assert.equal(table.inputs.billingMode, "PAY_PER_REQUEST", table.name);
      assert.equal(table.inputs.readCapacity, undefined, table.name);
      assert.equal(table.inputs.writeCapacity, undefined, table.name);
      assert.deepEqual(table.ignoreChanges, [], table.name);
    }
    assert.deepEqual(orders.inputs.globalSecondaryIndexes, [INDEX]);
    assert.equal(ofType(TARGET).length, 0);
    assert.equal(ofType(POLICY).length, 0);
    assert.deepEqual(pipeline.autoScaling, []);
    assert.equal(ofType(ALARM).length, 22);
    assert.ok(!ofType(ALARM).some((a) => JSON.stringify(a.inputs).includes("WriteThrottleEvents")));
  });
});

describe("provisioned", () => {
  test("the defaults are a small store's: about 2.5 orders a second at the minimums, 1000 at the maximums", () => {
    assert.deepEqual(CAPACITY_DEFAULTS, {
      ordersWriteCapacity: 10,
      ordersMaxWriteCapacity: 4000,
      idempotencyWriteCapacity: 15,
      idempotencyMaxWriteCapacity: 6000,
      ordersReadCapacity: 5,
      ordersMaxReadCapacity: 1000,
    });
  });

  test("the orders table, its index and the idempotency table are provisioned at their minimums; the failures table stays on-demand", async () => {
    await build(PROVISIONED);
    const { orders, failures, idempotency } = tables();
    assert.equal(orders.inputs.billingMode, "PROVISIONED");
    assert.equal(orders.inputs.writeCapacity, 10);
    assert.equal(orders.inputs.readCapacity, 5);
    // The index: a quarter of the table's write minimum (rounded up), the table's read minimum.
    assert.deepEqual(orders.inputs.globalSecondaryIndexes, [{ ...INDEX, writeCapacity: 3, readCapacity: 5 }]);
    assert.equal(idempotency.inputs.billingMode, "PROVISIONED");
    assert.equal(idempotency.inputs.writeCapacity, 15);
    assert.equal(idempotency.inputs.readCapacity, 1);
    assert.equal(failures.inputs.billingMode, "PAY_PER_REQUEST");
    assert.equal(failures.inputs.writeCapacity, undefined);
    assert.equal(failures.inputs.readCapacity, undefined);
    // Everything else about the tables is as on-demand.
    for (const table of [orders, idempotency]) {
      assert.deepEqual(table.inputs.pointInTimeRecovery, { enabled: true }, table.name);
      assert.equal(table.inputs.serverSideEncryption.enabled, true, table.name);
    }
  });

  test("a scalable target between the minimum and the maximum for each table's and the index's capacity, named as Application Auto Scaling names them", async () => {
    const pipeline = await build(PROVISIONED);
    assert.deepEqual(targets(), {
      "table/orders dynamodb:table:WriteCapacityUnits": [10, 4000],
      "table/orders dynamodb:table:ReadCapacityUnits": [5, 1000],
      "table/orders/index/byCustomer dynamodb:index:WriteCapacityUnits": [3, 4000],
      "table/orders/index/byCustomer dynamodb:index:ReadCapacityUnits": [5, 1000],
      // Nothing reads the idempotency table: 1 read unit, not scaled.
      "table/orders-idempotency dynamodb:table:WriteCapacityUnits": [15, 6000],
    });
    assert.equal(`table/${await value(pipeline.ordersTable.name)}/index/${ORDERS_BY_CUSTOMER_INDEX}`, "table/orders/index/byCustomer");
    for (const target of ofType(TARGET)) {
      assert.equal(target.inputs.serviceNamespace, "dynamodb", target.name);
      // Application Auto Scaling's own service-linked role, not one of this stack's.
      assert.equal(target.inputs.roleArn, undefined, target.name);
      assert.equal(target.inputs.tags.project, "orders-pipeline", target.name);
    }
    assert.equal(pipeline.autoScaling.length, 5);
    assert.equal(ofType("aws:iam/role:Role").length, 8);
  });

  test("each target has a target-tracking policy keeping its utilization at 70%, on its own metric", async () => {
    await build(PROVISIONED);
    const policies = ofType(POLICY);
    assert.equal(policies.length, 5);
    assert.equal(TARGET_UTILIZATION, 70);
    for (const policy of policies) {
      const target = one(TARGET, policy.name);
      assert.equal(policy.inputs.policyType, "TargetTrackingScaling", policy.name);
      assert.equal(policy.inputs.resourceId, target.inputs.resourceId, policy.name);
      assert.equal(policy.inputs.scalableDimension, target.inputs.scalableDimension, policy.name);
      assert.equal(policy.inputs.serviceNamespace, "dynamodb", policy.name);
      const tracking = policy.inputs.targetTrackingScalingPolicyConfiguration;
      assert.equal(tracking.targetValue, 70, policy.name);
      const metric = target.inputs.scalableDimension.endsWith("WriteCapacityUnits") ? "DynamoDBWriteCapacityUtilization" : "DynamoDBReadCapacityUtilization";
      assert.deepEqual(tracking.predefinedMetricSpecification, { predefinedMetricType: metric }, policy.name);
    }
    assert.equal(new Set(policies.map((p) => p.inputs.name)).size, 5);
  });

  test("the configured capacities reach the tables, the index and the targets", async () => {
    await build({
      ...PROVISIONED,
      ordersWriteCapacity: 201, ordersMaxWriteCapacity: 8000,
      idempotencyWriteCapacity: 300, idempotencyMaxWriteCapacity: 12000,
      ordersReadCapacity: 20, ordersMaxReadCapacity: 500,
    });
    const { orders, idempotency } = tables();
    assert.equal(orders.inputs.writeCapacity, 201);
    assert.equal(orders.inputs.readCapacity, 20);
    assert.deepEqual(orders.inputs.globalSecondaryIndexes, [{ ...INDEX, writeCapacity: 51, readCapacity: 20 }]);
    assert.equal(idempotency.inputs.writeCapacity, 300);
    assert.equal(idempotency.inputs.readCapacity, 1);
    assert.deepEqual(targets(), {
      "table/orders dynamodb:table:WriteCapacityUnits": [201, 8000],
      "table/orders dynamodb:table:ReadCapacityUnits": [20, 500],
      "table/orders/index/byCustomer dynamodb:index:WriteCapacityUnits": [51, 8000],
      "table/orders/index/byCustomer dynamodb:index:ReadCapacityUnits": [20, 500],
      "table/orders-idempotency dynamodb:table:WriteCapacityUnits": [300, 12000],
    });
  });

  test("the targets name the stack's own tables", async () => {
    await build({ ...PROVISIONED, prefix: "staging" });
    assert.deepEqual(Object.keys(targets()).sort(), [
      "table/staging dynamodb:table:ReadCapacityUnits",
      "table/staging dynamodb:table:WriteCapacityUnits",
      "table/staging-idempotency dynamodb:table:WriteCapacityUnits",
      "table/staging/index/byCustomer dynamodb:index:ReadCapacityUnits",
      "table/staging/index/byCustomer dynamodb:index:WriteCapacityUnits",
    ]);
  });

  test("the index's share of the orders table's writes follows the saga: one put, then one update per stage", () => {
    assert.equal(ORDERS_WRITES_PER_INDEX_WRITE, 1 + Object.keys(SAGA_STAGES).length);
  });

  test("the tables leave the capacity auto scaling sets alone: Pulumi ignores changes to it", async () => {
    await build(PROVISIONED);
    const { orders, failures, idempotency } = tables();
    assert.deepEqual(orders.ignoreChanges, ORDERS_IGNORED);
    // The idempotency table's read capacity is fixed: only its write capacity is scaled.
    assert.deepEqual(idempotency.ignoreChanges, ["writeCapacity"]);
    assert.deepEqual(failures.ignoreChanges, []);
  });

  test("dynamodbSwitchToProvisioned: the update that switches an existing stack sends the capacities, and still scales them", async () => {
    await build({ ...PROVISIONED, dynamodbSwitchToProvisioned: true });
    const { orders, idempotency } = tables();
    assert.deepEqual(orders.ignoreChanges, []);
    assert.deepEqual(idempotency.ignoreChanges, []);
    assert.equal(orders.inputs.writeCapacity, 10);
    assert.deepEqual(orders.inputs.globalSecondaryIndexes, [{ ...INDEX, writeCapacity: 3, readCapacity: 5 }]);
    assert.equal(ofType(TARGET).length, 5);
  });

  test("each provisioned table alarms on the topic when its writes (or its index's) are throttled for 15 minutes", async () => {
    const pipeline = await build(PROVISIONED);
    const topic = await value(pipeline.monitoring.topic.arn);
    assert.equal(ofType(ALARM).length, 24);
    assert.equal(pipeline.monitoring.alarms.length, 24);
    const expected: Record<string, [Record<string, string>[], string, string]> = {
      "orders-orders-table-write-throttled": [
        [{ TableName: "orders" }, { TableName: "orders", GlobalSecondaryIndexName: "byCustomer" }],
        "FILL(table, 0) + FILL(index, 0)",
        "ordersWriteCapacity",
      ],
      "orders-idempotency-table-write-throttled": [[{ TableName: "orders-idempotency" }], "FILL(table, 0)", "idempotencyWriteCapacity"],
    };
    for (const [name, [dimensions, expression, setting]] of Object.entries(expected)) {
      const alarm = one(ALARM, name).inputs;
      assert.equal(alarm.name, name);
      const metrics = alarm.metricQueries.filter((q: any) => q.metric);
      assert.deepEqual(metrics.map((q: any) => q.metric.dimensions), dimensions, name);
      for (const q of metrics) {
        assert.deepEqual({ ...q.metric, dimensions: undefined }, {
          namespace: "AWS/DynamoDB", metricName: "WriteThrottleEvents", stat: "Sum", period: 300, dimensions: undefined,
        }, name);
      }
      const result = alarm.metricQueries.filter((q: any) => q.returnData);
      assert.equal(result.length, 1, name);
      assert.equal(result[0].expression, expression, name);
      // Throttled in each of three 5-minute periods in a row: sustained, not a spike being scaled for.
      assert.equal(alarm.evaluationPeriods, 3, name);
      assert.equal(alarm.datapointsToAlarm, 3, name);
      assert.equal(alarm.threshold, 0, name);
      assert.equal(alarm.comparisonOperator, "GreaterThanThreshold", name);
      assert.equal(alarm.treatMissingData, "notBreaching", name);
      assert.deepEqual(alarm.alarmActions, [topic], name);
      assert.ok(alarm.alarmDescription.includes(setting), alarm.alarmDescription);
      assert.ok(alarm.alarmDescription.length <= 1024, name);
    }
  });
});

describe("capacity settings", () => {
  test("each must be a whole number of capacity units, at least 1, and is named when it is not", () => {
    for (const key of CAPACITY_KEYS) {
      for (const bad of [0, -5, 2.5, Number.NaN, "lots"]) {
        const shown = typeof bad === "string" ? `'${bad}'` : String(bad);
        assert.throws(
          () => validate(testConfig({ ...PROVISIONED, [key]: bad })),
          (error: Error) => error.message.includes(`${key} ${shown} must be a whole number of capacity units, at least 1`) &&
            CAPACITY_KEYS.filter((k) => k !== key).every((k) => !error.message.includes(k)),
          `${key}=${shown}`,
        );
      }
    }
    assert.doesNotThrow(() => validate(testConfig({ ...PROVISIONED, ordersWriteCapacity: 1, ordersMaxWriteCapacity: 1, ordersReadCapacity: 40_000, ordersMaxReadCapacity: 40_000 })));
  });

  test("a minimum above its maximum is refused, naming both and which is a default", () => {
    refused({ ...PROVISIONED, ordersWriteCapacity: 5000 }, "ordersWriteCapacity 5000 must not be above ordersMaxWriteCapacity 4000 (the default)");
    refused({ ...PROVISIONED, ordersMaxWriteCapacity: 5 }, "ordersWriteCapacity 10 (the default) must not be above ordersMaxWriteCapacity 5");
    refused({ ...PROVISIONED, idempotencyWriteCapacity: 70, idempotencyMaxWriteCapacity: 60 }, "idempotencyWriteCapacity 70 must not be above idempotencyMaxWriteCapacity 60");
    refused({ ...PROVISIONED, ordersReadCapacity: 11, ordersMaxReadCapacity: 10 }, "ordersReadCapacity 11 must not be above ordersMaxReadCapacity 10");
    assert.doesNotThrow(() => validate(testConfig({ ...PROVISIONED, idempotencyWriteCapacity: 60, idempotencyMaxWriteCapacity: 60 })));
  });

  test("each, and dynamodbSwitchToProvisioned, is refused with on-demand", () => {
    for (const mode of [{}, { dynamodbCapacity: "on-demand" } as const]) {
      for (const key of CAPACITY_KEYS) {
        refused({ ...mode, [key]: 100 }, `${key} is only used when dynamodbCapacity is provisioned, not 'on-demand' (pulumi config rm ${key})`);
      }
      refused({ ...mode, dynamodbSwitchToProvisioned: true }, "dynamodbSwitchToProvisioned is only used when dynamodbCapacity is provisioned, not 'on-demand'");
      assert.doesNotThrow(() => validate(testConfig(mode)));
    }
  });

  test("an unknown dynamodbCapacity is refused, naming the allowed values", () => {
    for (const bad of ["PROVISIONED", "ondemand", "pay-per-request", ""]) {
      refused({ dynamodbCapacity: bad as PipelineConfig["dynamodbCapacity"] }, `dynamodbCapacity '${bad}' must be one of on-demand, provisioned`);
    }
  });

  test("their problems are listed with the others", () => {
    refused({ ...PROVISIONED, prefix: "Orders!", ordersWriteCapacity: 0, idempotencyMaxWriteCapacity: 2 }, /prefix 'Orders!'[\s\S]*ordersWriteCapacity 0 must be[\s\S]*idempotencyWriteCapacity 15 \(the default\) must not be above idempotencyMaxWriteCapacity 2/);
  });

  test("load() reads them from the stack's config and refuses what is not a number, with the other problems", () => {
    try {
      setStackConfig(SERVICE_URLS);
      const onDemand = load();
      assert.equal(onDemand.dynamodbCapacity, "on-demand");
      assert.equal(onDemand.dynamodbSwitchToProvisioned, false);
      for (const key of CAPACITY_KEYS) assert.equal(onDemand[key], undefined, key);

      setStackConfig({ ...SERVICE_URLS, dynamodbCapacity: "provisioned", ordersWriteCapacity: "50", ordersMaxWriteCapacity: "500" });
      const provisioned = load();
      assert.equal(provisioned.dynamodbCapacity, "provisioned");
      assert.equal(provisioned.ordersWriteCapacity, 50);
      assert.equal(provisioned.ordersMaxWriteCapacity, 500);
      const unset: CapacityKey[] = ["idempotencyWriteCapacity", "idempotencyMaxWriteCapacity", "ordersReadCapacity", "ordersMaxReadCapacity"];
      for (const key of unset) assert.equal(provisioned[key], undefined, key);

      setStackConfig({ ...SERVICE_URLS, dynamodbCapacity: "provisioned", dynamodbSwitchToProvisioned: "true" });
      assert.equal(load().dynamodbSwitchToProvisioned, true);

      setStackConfig({ ...SERVICE_URLS, dynamodbCapacity: "provisioned", ordersWriteCapacity: "lots", idempotencyWriteCapacity: "0", dynamodbSwitchToProvisioned: "yes" });
      assert.throws(() => load(), (error: Error) =>
        error.message.includes("ordersWriteCapacity 'lots' must be a whole number of capacity units") &&
        error.message.includes("idempotencyWriteCapacity 0 must be a whole number of capacity units") &&
        error.message.includes("dynamodbSwitchToProvisioned 'yes' must be true or false"));

      setStackConfig({ ...SERVICE_URLS, ordersWriteCapacity: "50" });
      assert.throws(() => load(), /ordersWriteCapacity is only used when dynamodbCapacity is provisioned, not 'on-demand'/);
      setStackConfig({ ...SERVICE_URLS, dynamodbCapacity: "Provisioned" });
      assert.throws(() => load(), /dynamodbCapacity 'Provisioned' must be one of on-demand, provisioned/);
    } finally {
      setStackConfig(SERVICE_URLS);
    }
  });
});
