// Settings for a sale (docs/capacity.md): DynamoDB warm throughput on the orders table, its index and
// the idempotency table, and the consumers' ParallelizationFactor. Unset by default, leaving every
// resource exactly as before; validated with the other settings.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { SERVICE_URLS, ofType, one, recorded, setStackConfig, settle, testConfig } from "./mocks";
import { ORDERS_WRITES_PER_INDEX_WRITE } from "../src/capacity";
import { MIN_WARM_WRITE_UNITS, PipelineConfig, WARM_THROUGHPUT_KEYS, load, validate } from "../src/config";
import { eventSources } from "../src/consumers";
import { createPipeline } from "../src/pipeline";

beforeEach(() => {
  recorded.length = 0;
});

const TABLE = "aws:dynamodb/table:Table";
const MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping";

async function build(overrides: Partial<PipelineConfig> = {}): Promise<void> {
  createPipeline(validate(testConfig(overrides)));
  await settle();
}

/** Throws unless `config` is refused with a message containing `message`. */
function refused(config: Partial<PipelineConfig>, message: string): void {
  assert.throws(
    () => validate(testConfig(config)),
    (error: Error) => error.message.includes(message),
    `${JSON.stringify(config)} should be refused with ${message}`,
  );
}

describe("DynamoDB warm throughput", () => {
  test("by default no table and no index is pre-warmed", async () => {
    await build();
    assert.equal(ofType(TABLE).length, 3);
    for (const table of ofType(TABLE)) {
      assert.equal(table.inputs.warmThroughput, undefined, table.name);
      for (const index of table.inputs.globalSecondaryIndexes ?? []) assert.equal(index.warmThroughput, undefined, table.name);
    }
    for (const key of WARM_THROUGHPUT_KEYS) assert.equal(testConfig()[key], undefined, key);
  });

  test("ordersWarmWriteUnits pre-warms the orders table, and its index at a quarter of it; idempotencyWarmWriteUnits the idempotency table", async () => {
    await build({ ordersWarmWriteUnits: 30_001, idempotencyWarmWriteUnits: 35_000 });
    const orders = one(TABLE, "orders-orders-table").inputs;
    assert.deepEqual(orders.warmThroughput, { writeUnitsPerSecond: 30_001 });
    assert.equal(orders.billingMode, "PAY_PER_REQUEST");
    assert.equal(ORDERS_WRITES_PER_INDEX_WRITE, 4);
    assert.deepEqual(orders.globalSecondaryIndexes, [
      { name: "byCustomer", hashKey: "customerId", rangeKey: "placedAt", projectionType: "KEYS_ONLY", warmThroughput: { writeUnitsPerSecond: 7_501 } },
    ]);
    assert.deepEqual(one(TABLE, "orders-idempotency-table").inputs.warmThroughput, { writeUnitsPerSecond: 35_000 });
    // The failures table is written when records fail, not planned for: never pre-warmed.
    assert.equal(one(TABLE, "orders-failures-table").inputs.warmThroughput, undefined);
  });

  test("each key works alone, and the index never gets less than DynamoDB's least", async () => {
    await build({ ordersWarmWriteUnits: 8_000 });
    const orders = one(TABLE, "orders-orders-table").inputs;
    assert.deepEqual(orders.warmThroughput, { writeUnitsPerSecond: 8_000 });
    assert.deepEqual(orders.globalSecondaryIndexes[0].warmThroughput, { writeUnitsPerSecond: MIN_WARM_WRITE_UNITS });
    assert.equal(one(TABLE, "orders-idempotency-table").inputs.warmThroughput, undefined);

    recorded.length = 0;
    await build({ idempotencyWarmWriteUnits: 4_000 });
    assert.equal(one(TABLE, "orders-orders-table").inputs.warmThroughput, undefined);
    assert.equal(one(TABLE, "orders-orders-table").inputs.globalSecondaryIndexes[0].warmThroughput, undefined);
    assert.deepEqual(one(TABLE, "orders-idempotency-table").inputs.warmThroughput, { writeUnitsPerSecond: 4_000 });
  });

  test("provisioned tables are pre-warmed too, beside their capacity", async () => {
    await build({ dynamodbCapacity: "provisioned", ordersWarmWriteUnits: 40_000, idempotencyWarmWriteUnits: 40_000 });
    const orders = one(TABLE, "orders-orders-table").inputs;
    assert.equal(orders.billingMode, "PROVISIONED");
    assert.equal(orders.writeCapacity, 10);
    assert.deepEqual(orders.warmThroughput, { writeUnitsPerSecond: 40_000 });
    assert.equal(orders.globalSecondaryIndexes[0].writeCapacity, 3);
    assert.deepEqual(orders.globalSecondaryIndexes[0].warmThroughput, { writeUnitsPerSecond: 10_000 });
    assert.deepEqual(one(TABLE, "orders-idempotency-table").inputs.warmThroughput, { writeUnitsPerSecond: 40_000 });
  });

  test("each must be a whole number of write units per second, at least 4000, and is named when it is not", () => {
    for (const key of WARM_THROUGHPUT_KEYS) {
      for (const bad of [3_999, 0, -4_000, 4_000.5, Number.NaN, "lots"]) {
        const shown = typeof bad === "string" ? `'${bad}'` : String(bad);
        refused({ [key]: bad }, `${key} ${shown} must be a whole number of write units per second, at least 4000`);
      }
      assert.doesNotThrow(() => validate(testConfig({ [key]: 4_000 })));
      assert.doesNotThrow(() => validate(testConfig({ [key]: 1_000_000 })));
    }
  });
});

describe("the consumers' ParallelizationFactor", () => {
  test("by default each mapping has the factor the host publishes", async () => {
    await build();
    const settings = eventSources();
    assert.equal(ofType(MAPPING).length, Object.keys(settings).length);
    for (const [name, s] of Object.entries(settings)) {
      assert.equal(one(MAPPING, name).inputs.parallelizationFactor, s.ParallelizationFactor, name);
    }
  });

  test("consumerParallelizationFactor sets every mapping's, and nothing else about them", async () => {
    await build({ consumerParallelizationFactor: 4 });
    const settings = eventSources();
    for (const [name, s] of Object.entries(settings)) {
      const mapping = one(MAPPING, name).inputs;
      assert.equal(mapping.parallelizationFactor, 4, name);
      assert.equal(mapping.batchSize, s.BatchSize, name);
      assert.equal(mapping.maximumBatchingWindowInSeconds, s.MaximumBatchingWindowInSeconds, name);
      assert.equal(mapping.startingPosition, s.StartingPosition, name);
    }
  });

  test("it must be a whole number from 1 to 10, and is named when it is not", () => {
    for (const bad of [0, 11, -1, 1.5, Number.NaN, "two"]) {
      const shown = typeof bad === "string" ? `'${bad}'` : String(bad);
      refused({ consumerParallelizationFactor: bad as number }, `consumerParallelizationFactor ${shown} must be a whole number from 1 to 10`);
    }
    for (const good of [1, 10]) assert.doesNotThrow(() => validate(testConfig({ consumerParallelizationFactor: good })));
  });
});

test("their problems are listed with the others", () => {
  assert.throws(
    () => validate(testConfig({ prefix: "Orders!", ordersWarmWriteUnits: 10, consumerParallelizationFactor: 20 })),
    /prefix 'Orders!'[\s\S]*ordersWarmWriteUnits 10 must be[\s\S]*consumerParallelizationFactor 20 must be/,
  );
});

test("load() reads them from the stack's config, leaves them unset by default, and refuses what is not a number", () => {
  try {
    setStackConfig(SERVICE_URLS);
    const unset = load();
    assert.equal(unset.ordersWarmWriteUnits, undefined);
    assert.equal(unset.idempotencyWarmWriteUnits, undefined);
    assert.equal(unset.consumerParallelizationFactor, undefined);

    setStackConfig({ ...SERVICE_URLS, ordersWarmWriteUnits: "26000", idempotencyWarmWriteUnits: "30000", consumerParallelizationFactor: "2" });
    const set = load();
    assert.equal(set.ordersWarmWriteUnits, 26_000);
    assert.equal(set.idempotencyWarmWriteUnits, 30_000);
    assert.equal(set.consumerParallelizationFactor, 2);

    setStackConfig({ ...SERVICE_URLS, ordersWarmWriteUnits: "lots", consumerParallelizationFactor: "" });
    assert.throws(() => load(), (error: Error) =>
      error.message.includes("ordersWarmWriteUnits 'lots' must be a whole number of write units per second") &&
      error.message.includes("consumerParallelizationFactor '' must be a whole number from 1 to 10"));
  } finally {
    setStackConfig(SERVICE_URLS);
  }
});
