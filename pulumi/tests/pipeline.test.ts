import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { recorded, ofType, settle, value } from "./mocks";
import { defaults, validate } from "../src/config";
import { createPipeline, ORDERS_BY_CUSTOMER_INDEX } from "../src/pipeline";

beforeEach(() => {
  recorded.length = 0;
});

test("the stream is on-demand, KMS-encrypted with the pipeline key, and keeps records 24 hours by default", async () => {
  const pipeline = createPipeline(defaults);
  await settle();
  const [stream] = ofType("aws:kinesis/stream:Stream");
  assert.equal(stream.inputs.streamModeDetails.streamMode, "ON_DEMAND");
  assert.equal(stream.inputs.shardCount, undefined);
  assert.equal(stream.inputs.retentionPeriod, 24);
  assert.equal(stream.inputs.encryptionType, "KMS");
  assert.equal(stream.inputs.kmsKeyId, await value(pipeline.key.arn));
  assert.equal(stream.inputs.name, "orders");
});

test("a provisioned stream gets its shard count and retention from config", async () => {
  createPipeline(validate({ ...defaults, streamMode: "PROVISIONED", shardCount: 8, retentionHours: 168 }));
  await settle();
  const [stream] = ofType("aws:kinesis/stream:Stream");
  assert.equal(stream.inputs.streamModeDetails.streamMode, "PROVISIONED");
  assert.equal(stream.inputs.shardCount, 8);
  assert.equal(stream.inputs.retentionPeriod, 168);
});

test("each consumer is an enhanced fan-out consumer of this stream", async () => {
  const pipeline = createPipeline(defaults);
  await settle();
  const consumers = ofType("aws:kinesis/streamConsumer:StreamConsumer");
  assert.deepEqual(consumers.map((c) => c.inputs.name), ["orders-materialiser"]);
  assert.equal(consumers[0].inputs.streamArn, await value(pipeline.stream.arn));
});

test("the orders table matches the local one: key, keys-only index, on-demand, PITR, KMS", async () => {
  const pipeline = createPipeline(defaults);
  await settle();
  const [table] = ofType("aws:dynamodb/table:Table");
  assert.equal(table.inputs.billingMode, "PAY_PER_REQUEST");
  assert.equal(table.inputs.hashKey, "orderId");
  assert.deepEqual(table.inputs.globalSecondaryIndexes, [
    { name: ORDERS_BY_CUSTOMER_INDEX, hashKey: "customerId", rangeKey: "placedAt", projectionType: "KEYS_ONLY" },
  ]);
  assert.deepEqual(table.inputs.pointInTimeRecovery, { enabled: true });
  assert.deepEqual(table.inputs.serverSideEncryption, { enabled: true, kmsKeyArn: await value(pipeline.key.arn) });
  assert.equal(table.inputs.deletionProtectionEnabled, false);
});

test("production stacks protect the table from deletion", async () => {
  createPipeline({ ...defaults, production: true });
  await settle();
  const [table] = ofType("aws:dynamodb/table:Table");
  assert.equal(table.inputs.deletionProtectionEnabled, true);
});

test("the key rotates and every taggable resource carries the stack's tags", async () => {
  createPipeline({ ...defaults, tags: { team: "platform" } });
  await settle();
  const [key] = ofType("aws:kms/key:Key");
  assert.equal(key.inputs.enableKeyRotation, true);
  const taggable = recorded.filter((r) => ["aws:kms/key:Key", "aws:kinesis/stream:Stream", "aws:dynamodb/table:Table"].includes(r.type));
  assert.equal(taggable.length, 3);
  for (const resource of taggable) {
    assert.equal(resource.inputs.tags.project, "orders-pipeline", resource.name);
    assert.equal(resource.inputs.tags.team, "platform", resource.name);
  }
});

test("a bad configuration is refused with every problem named", () => {
  assert.throws(
    () => validate({ ...defaults, prefix: "Orders!", retentionHours: 10, shardCount: 0 }),
    (error: Error) =>
      error.message.includes("prefix 'Orders!'") &&
      error.message.includes("retentionHours 10") &&
      error.message.includes("shardCount 0"),
  );
});
