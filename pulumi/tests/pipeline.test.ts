// The resource graph, asserted offline with Pulumi's mocks: what is created, how it is wired,
// and the properties the security and operations promises rest on.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import * as pulumi from "@pulumi/pulumi";

import { ACCOUNT, REGION, Recorded, SERVICE_URLS, ofType, one, recorded, setStackConfig, settle, testConfig, value } from "./mocks";
import { ACCESS_LOG_FORMAT } from "../src/api";
import { firehosePrefix, projectionTemplate } from "../src/archive";
import { PipelineConfig, SecretSetting, load, validate } from "../src/config";
import { ConsumerAccess, DEAD_LETTER_BUCKET_VAR, FAILURES_TABLE_VAR, createConsumers, eventSources, lambdaConsumers } from "../src/consumers";
import { context } from "../src/context";
import { redriveListCommand } from "../src/monitoring";
import {
  createPipeline, DOWNSTREAM_API_KEY_PARAMETER_VAR, DOWNSTREAM_AUTH_VAR, IDEMPOTENCY_TABLE_VAR, ORDERS_BY_CUSTOMER_INDEX, Pipeline, SAGA_STAGES,
} from "../src/pipeline";
import { DATA_ACTION } from "../policy/policies";

beforeEach(() => {
  recorded.length = 0;
});

async function build(overrides = {}): Promise<Pipeline> {
  const pipeline = createPipeline(testConfig(overrides));
  await settle();
  return pipeline;
}

interface Statement {
  Effect: string;
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

/** The consumers as lambda-event-sources.json lists them: the materialiser and the three saga stages. */
const MATERIALISER = "orders-materialiser";
const STAGES = ["orders-inventory", "orders-fulfilment", "orders-accounting"];

/** The condition that keeps a consumer to the items keyed by its own name. */
function ownItems(consumer: string) {
  return { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [consumer] } };
}

/** Every role's inline policy statements, by role name. */
function rolePolicies(): Map<string, Statement[]> {
  const roles = new Map(ofType("aws:iam/role:Role").map((r) => [r.state.name, r]));
  const policies = new Map<string, Statement[]>();
  for (const policy of ofType("aws:iam/rolePolicy:RolePolicy")) {
    assert.ok(roles.has(policy.inputs.role), `policy of unknown role ${policy.inputs.role}`);
    policies.set(policy.inputs.role, JSON.parse(policy.inputs.policy).Statement);
  }
  return policies;
}


describe("stream and tables", () => {
  test("the stream is on-demand, KMS-encrypted with the pipeline key, and keeps records 24 hours by default", async () => {
    const pipeline = await build();
    const [stream] = ofType("aws:kinesis/stream:Stream");
    assert.equal(stream.inputs.streamModeDetails.streamMode, "ON_DEMAND");
    assert.equal(stream.inputs.shardCount, undefined);
    assert.equal(stream.inputs.retentionPeriod, 24);
    assert.equal(stream.inputs.encryptionType, "KMS");
    assert.equal(stream.inputs.kmsKeyId, await value(pipeline.key.arn));
    assert.equal(stream.inputs.name, "orders");
  });

  test("a provisioned stream gets its shard count and retention from config", async () => {
    await build(validate(testConfig({ streamMode: "PROVISIONED", shardCount: 8, retentionHours: 168 })));
    const [stream] = ofType("aws:kinesis/stream:Stream");
    assert.equal(stream.inputs.streamModeDetails.streamMode, "PROVISIONED");
    assert.equal(stream.inputs.shardCount, 8);
    assert.equal(stream.inputs.retentionPeriod, 168);
  });

  test("the orders table matches the local one: key, keys-only index, on-demand, PITR, KMS", async () => {
    const pipeline = await build();
    const table = one("aws:dynamodb/table:Table", "orders-orders-table");
    assert.equal(table.inputs.name, "orders");
    assert.equal(table.inputs.billingMode, "PAY_PER_REQUEST");
    assert.equal(table.inputs.hashKey, "orderId");
    assert.deepEqual(table.inputs.globalSecondaryIndexes, [
      { name: ORDERS_BY_CUSTOMER_INDEX, hashKey: "customerId", rangeKey: "placedAt", projectionType: "KEYS_ONLY" },
    ]);
    assert.deepEqual(table.inputs.pointInTimeRecovery, { enabled: true });
    assert.deepEqual(table.inputs.serverSideEncryption, { enabled: true, kmsKeyArn: await value(pipeline.key.arn) });
    assert.equal(table.inputs.deletionProtectionEnabled, false);
  });

  // The consumers' own tables: keyed by consumer first, with the local stack's names
  // (ingest::config::ResourceNames) under the stack's prefix; only key attributes are declared.
  const consumerTables = [
    // Failures expire (8 days); idempotency records are kept as long as the archive's events.
    { id: "failures-table", name: "consumer-failures", range: "record", ttl: { attributeName: "expiresAt", enabled: true }, output: (p: Awaited<ReturnType<typeof build>>) => p.failuresTable.name },
    { id: "idempotency-table", name: "idempotency", range: "key", ttl: undefined, output: (p: Awaited<ReturnType<typeof build>>) => p.idempotencyTable.name },
  ];
  for (const spec of consumerTables) {
    const ttl = spec.ttl ? "TTL on expiresAt" : "no TTL";
    test(`the ${spec.id.replace("-table", "")} table: (consumer, ${spec.range}) key, ${ttl}, on-demand, PITR, KMS`, async () => {
      const pipeline = await build();
      assert.equal(ofType("aws:dynamodb/table:Table").length, 3);
      const table = one("aws:dynamodb/table:Table", `orders-${spec.id}`);
      assert.equal(table.inputs.name, `orders-${spec.name}`);
      assert.equal(await value(spec.output(pipeline)), `orders-${spec.name}`);
      assert.equal(table.inputs.billingMode, "PAY_PER_REQUEST");
      assert.equal(table.inputs.hashKey, "consumer");
      assert.equal(table.inputs.rangeKey, spec.range);
      assert.deepEqual(table.inputs.attributes, [{ name: "consumer", type: "S" }, { name: spec.range, type: "S" }]);
      assert.equal(table.inputs.globalSecondaryIndexes, undefined);
      assert.deepEqual(table.inputs.ttl, spec.ttl);
      assert.deepEqual(table.inputs.pointInTimeRecovery, { enabled: true });
      assert.deepEqual(table.inputs.serverSideEncryption, { enabled: true, kmsKeyArn: await value(pipeline.key.arn) });
      assert.equal(table.inputs.deletionProtectionEnabled, false);
      assert.equal(table.inputs.tags.project, "orders-pipeline");
    });

    test(`the ${spec.id.replace("-table", "")} table is named under the stack's prefix`, async () => {
      await build({ prefix: "staging" });
      assert.equal(one("aws:dynamodb/table:Table", `staging-${spec.id}`).inputs.name, `staging-${spec.name}`);
    });
  }

  test("production stacks protect the tables, the user pool and the buckets from deletion", async () => {
    await build({ production: true });
    const tables = ofType("aws:dynamodb/table:Table");
    assert.equal(tables.length, 3);
    for (const table of tables) assert.equal(table.inputs.deletionProtectionEnabled, true, table.name);
    assert.equal(ofType("aws:cognito/userPool:UserPool")[0].inputs.deletionProtection, "ACTIVE");
    for (const bucket of ofType("aws:s3/bucket:Bucket")) assert.equal(bucket.inputs.forceDestroy, false);
  });
});

describe("consumers", () => {
  test("each consumer is an enhanced fan-out consumer with a mapping from the host's published settings", async () => {
    const pipeline = await build();
    const settings = eventSources();
    assert.deepEqual(Object.keys(settings), [MATERIALISER, ...STAGES]);
    // Sorted: the mocks record resources in the order their inputs resolve, which is not fixed.
    const names = Object.keys(settings).sort();
    assert.deepEqual(ofType("aws:kinesis/streamConsumer:StreamConsumer").map((c) => c.inputs.name).sort(), names);
    assert.deepEqual(ofType("aws:lambda/eventSourceMapping:EventSourceMapping").map((m) => m.name).sort(), names);
    for (const consumer of lambdaConsumers(pipeline.consumers)) {
      const efo = one("aws:kinesis/streamConsumer:StreamConsumer", consumer.name);
      assert.equal(efo.inputs.streamArn, await value(pipeline.stream.arn));
      const mapping = one("aws:lambda/eventSourceMapping:EventSourceMapping", consumer.name).inputs;
      const s = settings[consumer.name];
      // For enhanced fan-out the source is the consumer's ARN, not the stream's.
      assert.equal(mapping.eventSourceArn, await value(consumer.efo.arn));
      assert.notEqual(mapping.eventSourceArn, await value(pipeline.stream.arn));
      assert.equal(mapping.functionName, await value(consumer.lambda.fn.arn));
      assert.equal(mapping.startingPosition, s.StartingPosition);
      assert.equal(mapping.batchSize, s.BatchSize);
      assert.equal(mapping.maximumBatchingWindowInSeconds, s.MaximumBatchingWindowInSeconds);
      assert.equal(mapping.parallelizationFactor, s.ParallelizationFactor);
      assert.deepEqual(mapping.functionResponseTypes, ["ReportBatchItemFailures"]);
      assert.equal(mapping.bisectBatchOnFunctionError, s.BisectBatchOnFunctionError);
      assert.equal(mapping.maximumRetryAttempts, s.MaximumRetryAttempts);
      assert.equal(mapping.maximumRecordAgeInSeconds, s.MaximumRecordAgeInSeconds);
      assert.equal(mapping.destinationConfig.onFailure.destinationArn, await value(pipeline.deadLetters.arn));
    }
  });

  test("the Rust Lambdas run on provided.al2023, arm64 by default, traced, with their own log group", async () => {
    await build();
    const functions = ofType("aws:lambda/function:Function");
    assert.deepEqual(functions.map((f) => f.inputs.name).sort(), [
      "orders-accounting", "orders-fulfilment", "orders-inventory", "orders-materialiser", "orders-order-tables", "orders-query",
    ]);
    for (const fn of functions) {
      assert.equal(fn.inputs.runtime, "provided.al2023");
      assert.equal(fn.inputs.handler, "bootstrap");
      assert.deepEqual(fn.inputs.architectures, ["arm64"]);
      // The order-tables Lambda has its own size (tests/analytics.test.ts).
      assert.equal(fn.inputs.memorySize, fn.inputs.name === "orders-order-tables" ? 1024 : 128, fn.inputs.name);
      assert.deepEqual(fn.inputs.tracingConfig, { mode: "Active" });
      const logGroup = ofType("aws:cloudwatch/logGroup:LogGroup").find((g) => g.inputs.name === `/aws/lambda/${fn.inputs.name}`);
      assert.ok(logGroup, fn.inputs.name);
      assert.equal(logGroup.inputs.retentionInDays, 30);
      assert.equal(fn.inputs.loggingConfig.logGroup, logGroup.state.name);
    }
  });

  test("the architecture, memory, timeout and tracing come from config", async () => {
    await build({ lambdaArchitecture: "x86_64", lambdaMemoryMb: 512, lambdaTimeoutSeconds: 120, lambdaTracing: "PassThrough" });
    const functions = ofType("aws:lambda/function:Function");
    assert.equal(functions.length, 6);
    for (const fn of functions) {
      assert.deepEqual(fn.inputs.tracingConfig, { mode: "PassThrough" });
      assert.deepEqual(fn.inputs.architectures, ["x86_64"]);
      // All but the order-tables Lambda, whose size is its own whatever the stack's (1024 MB, 900 s).
      const own = fn.inputs.name === "orders-order-tables";
      assert.equal(fn.inputs.memorySize, own ? 1024 : 512, fn.inputs.name);
      assert.equal(fn.inputs.timeout, own ? 900 : 120, fn.inputs.name);
    }
  });

  test("each consumer is told the failures table and the dead-letter bucket; the query Lambda is not", async () => {
    const pipeline = await build();
    const table = await value(pipeline.failuresTable.name);
    const bucket = await value(pipeline.deadLetters.bucket);
    assert.equal(FAILURES_TABLE_VAR, "ORDERS_FAILURES_TABLE_NAME");
    assert.equal(DEAD_LETTER_BUCKET_VAR, "ORDERS_DEAD_LETTER_BUCKET");
    assert.equal(pipeline.consumers.length, Object.keys(eventSources()).length);
    for (const consumer of lambdaConsumers(pipeline.consumers)) {
      const fn = one("aws:lambda/function:Function", await value(consumer.lambda.fn.name));
      const variables = fn.inputs.environment.variables;
      assert.equal(variables.ORDERS_FAILURES_TABLE_NAME, table, consumer.name);
      assert.equal(variables.ORDERS_DEAD_LETTER_BUCKET, bucket, consumer.name);
      // The bucket's name, not its ARN or id: the SDK's PutObject takes the name.
      assert.ok(!bucket.startsWith("arn:"));
      // What it had before is still there.
      assert.equal(variables.ORDERS_STREAM_NAME, await value(pipeline.stream.name), consumer.name);
    }
    const query = one("aws:lambda/function:Function", "orders-query").inputs.environment.variables;
    assert.equal(query.ORDERS_FAILURES_TABLE_NAME, undefined);
    assert.equal(query.ORDERS_DEAD_LETTER_BUCKET, undefined);
  });

  test("the materialiser is told the orders table, and neither the idempotency table nor any service", async () => {
    const pipeline = await build();
    const variables = one("aws:lambda/function:Function", "orders-materialiser").inputs.environment.variables;
    assert.equal(variables.ORDERS_TABLE_NAME, await value(pipeline.ordersTable.name));
    assert.equal(variables.ORDERS_IDEMPOTENCY_TABLE_NAME, undefined);
    for (const url of ["INVENTORY_URL", "FULFILMENT_URL", "ACCOUNTING_URL"]) assert.equal(variables[url], undefined, url);
  });

  test("each saga stage is told the idempotency table and its own service's URL from config, not the orders table", async () => {
    const pipeline = await build();
    assert.equal(IDEMPOTENCY_TABLE_VAR, "ORDERS_IDEMPOTENCY_TABLE_NAME");
    assert.deepEqual(Object.keys(SAGA_STAGES), STAGES);
    const expected: Record<string, [string, string]> = {
      "orders-inventory": ["INVENTORY_URL", SERVICE_URLS.inventoryUrl],
      "orders-fulfilment": ["FULFILMENT_URL", SERVICE_URLS.fulfilmentUrl],
      "orders-accounting": ["ACCOUNTING_URL", SERVICE_URLS.accountingUrl],
    };
    const urlVars = Object.values(expected).map(([name]) => name);
    for (const stage of STAGES) {
      const variables = one("aws:lambda/function:Function", stage).inputs.environment.variables;
      const [urlVar, url] = expected[stage];
      assert.equal(variables[urlVar], url, stage);
      for (const other of urlVars.filter((v) => v !== urlVar)) assert.equal(variables[other], undefined, `${stage} ${other}`);
      assert.equal(variables.ORDERS_IDEMPOTENCY_TABLE_NAME, "orders-idempotency", stage);
      assert.equal(variables.ORDERS_IDEMPOTENCY_TABLE_NAME, await value(pipeline.idempotencyTable.name), stage);
      assert.equal(variables.ORDERS_TABLE_NAME, undefined, stage);
      assert.deepEqual(Object.keys(variables).sort(), [
        "ORDERS_DEAD_LETTER_BUCKET", "ORDERS_FAILURES_TABLE_NAME", "ORDERS_IDEMPOTENCY_TABLE_NAME", "ORDERS_STREAM_NAME", urlVar,
      ].sort(), stage);
    }
  });

  test("the services' URLs come from the stack's config", async () => {
    await build({
      inventoryUrl: "https://inventory.internal.example",
      fulfilmentUrl: "https://fulfilment.internal.example/v2",
      accountingUrl: "https://ledger.example:8443",
    });
    const variables = (fn: string) => one("aws:lambda/function:Function", fn).inputs.environment.variables;
    assert.equal(variables("orders-inventory").INVENTORY_URL, "https://inventory.internal.example");
    assert.equal(variables("orders-fulfilment").FULFILMENT_URL, "https://fulfilment.internal.example/v2");
    assert.equal(variables("orders-accounting").ACCOUNTING_URL, "https://ledger.example:8443");
  });

  test("a consumer listed without grants is a configuration error naming it, not an empty role", async () => {
    const pipeline = await build();
    recorded.length = 0;
    const resources = {
      stream: pipeline.stream,
      key: pipeline.key,
      deadLetters: pipeline.deadLetters,
      failuresTable: pipeline.failuresTable,
      environment: {},
    };
    const only = (names: string[]): Record<string, ConsumerAccess> => Object.fromEntries(names.map((n) => [n, { grants: [] }]));
    const ctx = context(testConfig());
    assert.throws(
      () => createConsumers(ctx, { ...resources, access: only([MATERIALISER, "orders-inventory", "orders-fulfilment"]) }),
      (error: Error) =>
        error.message ===
          "consumer orders-accounting is listed in lambda-event-sources.json but the Pulumi program defines no grants " +
            "for it (pulumi/src/pipeline.ts): a consumer listed without grants is a configuration error, not an empty role",
    );
    // Grants for a consumer the file does not list are stale: refused too.
    assert.throws(
      () => createConsumers(ctx, { ...resources, access: only([MATERIALISER, ...STAGES, "orders-shipping"]) }),
      /grants are defined for consumer orders-shipping, which lambda-event-sources\.json does not list/,
    );
    // Refused before anything was created: no half-built consumer, no role without a job.
    await settle();
    assert.deepEqual(recorded.map((r) => r.type), []);
  });

  test("a Lambda that has not been packaged is a clear error naming the build command", () => {
    assert.throws(
      () => createPipeline(testConfig({ lambdaPackageDir: "/nonexistent" })),
      /\/nonexistent\/.*bootstrap\.zip does not exist: build the Lambdas first with scripts\/package-lambdas --arch arm64/,
    );
  });
});

describe("least privilege", () => {
  test("no policy grants a data action on '*' or a wildcard action", async () => {
    await build();
    const policies = rolePolicies();
    assert.ok(policies.size >= 5);
    for (const [role, statements] of policies) {
      for (const statement of statements) {
        assert.equal(statement.Effect, "Allow");
        for (const action of statement.Action) {
          assert.ok(!action.includes("*"), `${role}: wildcard action ${action}`);
          if (DATA_ACTION.test(action)) {
            assert.ok(!statement.Resource.includes("*"), `${role}: ${action} on *`);
          }
        }
      }
    }
  });

  test("each role reaches exactly the resources its job needs", async () => {
    const pipeline = await build();
    const policies = rolePolicies();
    const grants = (role: string) => {
      const byAction = new Map<string, string[]>();
      for (const s of policies.get(role)!) for (const a of s.Action) byAction.set(a, [...(byAction.get(a) ?? []), ...s.Resource]);
      return byAction;
    };
    const table = await value(pipeline.ordersTable.arn);
    const stream = await value(pipeline.stream.arn);
    const key = await value(pipeline.key.arn);

    const failures = await value(pipeline.failuresTable.arn);
    const materialiser = grants("orders-materialiser");
    assert.deepEqual(materialiser.get("dynamodb:PutItem"), [table]);
    assert.deepEqual(materialiser.get("dynamodb:UpdateItem")!.sort(), [failures, table].sort());
    assert.equal(materialiser.get("dynamodb:Query"), undefined);
    assert.equal(materialiser.get("dynamodb:DeleteItem"), undefined);
    assert.equal(materialiser.get("kinesis:PutRecord"), undefined);
    assert.equal(materialiser.get("kinesis:PutRecords"), undefined);
    assert.deepEqual(materialiser.get("kinesis:SubscribeToShard"), [await value(pipeline.consumers[0].efo.arn)]);
    assert.deepEqual(materialiser.get("s3:PutObject"), [`${await value(pipeline.deadLetters.arn)}/*`]);
    assert.deepEqual(materialiser.get("kms:Decrypt"), [key]);
    assert.deepEqual(materialiser.get("kms:GenerateDataKey"), [key]);

    const query = grants("orders-query");
    assert.deepEqual(query.get("dynamodb:GetItem"), [table]);
    assert.deepEqual(query.get("dynamodb:Query"), [`${table}/index/${ORDERS_BY_CUSTOMER_INDEX}`]);
    assert.equal(query.get("dynamodb:PutItem"), undefined);
    assert.equal(query.get("kinesis:GetRecords"), undefined);

    const api = grants("orders-api-put-orders");
    assert.deepEqual([...api.keys()].sort(), ["kinesis:PutRecord", "kinesis:PutRecords", "kms:GenerateDataKey"]);
    assert.deepEqual(api.get("kinesis:PutRecords"), [stream]);
    assert.deepEqual(api.get("kms:GenerateDataKey"), [key]);

    const archive = grants("orders-archive");
    assert.deepEqual(archive.get("s3:PutObject"), [
      `${await value(pipeline.archive.bucket.arn)}/events/*`,
      `${await value(pipeline.archive.bucket.arn)}/errors/*`,
    ]);
    assert.equal(archive.get("kinesis:PutRecord"), undefined);
  });

  test("every consumer may only UpdateItem its own items of the failures table, and no other role reaches it", async () => {
    const pipeline = await build();
    const policies = rolePolicies();
    const failures = await value(pipeline.failuresTable.arn);
    const orders = await value(pipeline.ordersTable.arn);
    assert.notEqual(failures, orders);
    const consumerRoles = new Map(await Promise.all(lambdaConsumers(pipeline.consumers).map(async (c) => [await value(c.lambda.role.name), c.name] as const)));
    assert.equal(consumerRoles.size, Object.keys(eventSources()).length);
    for (const [role, statements] of policies) {
      const onFailures = statements.filter((s) => s.Resource.includes(failures));
      const consumer = consumerRoles.get(role);
      if (consumer) {
        // One statement, one action, exactly that table (not its indexes, not '*'), and only
        // the items whose partition key is the consumer's own name.
        assert.deepEqual(onFailures, [
          { Effect: "Allow", Action: ["dynamodb:UpdateItem"], Resource: [failures], Condition: ownItems(consumer) },
        ], role);
        const updateItem = statements.filter((s) => s.Action.includes("dynamodb:UpdateItem"));
        // The materialiser also folds lifecycle events into the orders table.
        assert.deepEqual(updateItem.flatMap((s) => s.Resource), consumer === MATERIALISER ? [failures, orders] : [failures], role);
      } else {
        assert.deepEqual(onFailures, [], role);
        assert.ok(!statements.some((s) => s.Resource.some((r) => r.startsWith(`${failures}/`))), role);
      }
    }
  });

  test("each saga stage may only read and put its own idempotency records and put records on the stream, and never reach the orders table", async () => {
    const pipeline = await build();
    const policies = rolePolicies();
    const idempotency = await value(pipeline.idempotencyTable.arn);
    const orders = await value(pipeline.ordersTable.arn);
    const failures = await value(pipeline.failuresTable.arn);
    const stream = await value(pipeline.stream.arn);
    const stages = lambdaConsumers(pipeline.consumers).filter((c) => c.name !== MATERIALISER);
    assert.deepEqual(stages.map((c) => c.name), STAGES);
    const onTable = (arn: string) => (s: Statement) => s.Resource.some((r) => r === arn || r.startsWith(`${arn}/`));
    for (const stage of stages) {
      const role = await value(stage.lambda.role.name);
      const statements = policies.get(role)!;
      assert.deepEqual(statements.filter(onTable(idempotency)), [{
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem"],
        Resource: [idempotency],
        Condition: ownItems(stage.name),
      }], role);
      assert.deepEqual(statements.filter((s) => s.Action.some((a) => a.startsWith("kinesis:Put"))), [
        { Effect: "Allow", Action: ["kinesis:PutRecord", "kinesis:PutRecords"], Resource: [stream] },
      ], role);
      assert.deepEqual(statements.filter(onTable(orders)), [], role);
      // Every DynamoDB action it has, on what: nothing beyond those two tables.
      const dynamodb = statements.filter((s) => s.Action.some((a) => a.startsWith("dynamodb:")));
      assert.deepEqual(dynamodb.flatMap((s) => s.Action).sort(), ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], role);
      assert.deepEqual(dynamodb.flatMap((s) => s.Resource).sort(), [failures, idempotency].sort(), role);
      // Writing encrypted records needs the key's GenerateDataKey, which every consumer has.
      assert.ok(statements.some((s) => s.Action.includes("kms:GenerateDataKey")), role);
    }
    // Nobody else reaches the idempotency table or writes to the stream but the API's role.
    const stageRoles = await Promise.all(stages.map((c) => value(c.lambda.role.name)));
    for (const [role, statements] of policies) {
      if (stageRoles.includes(role)) continue;
      assert.deepEqual(statements.filter(onTable(idempotency)), [], role);
      if (role !== "orders-api-put-orders") {
        assert.ok(!statements.some((s) => s.Action.some((a) => a.startsWith("kinesis:Put"))), role);
      }
    }
  });

  test("the materialiser puts and updates orders, and neither writes to the stream nor reaches the idempotency table", async () => {
    const pipeline = await build();
    const statements = rolePolicies().get(await value(lambdaConsumers(pipeline.consumers)[0].lambda.role.name))!;
    assert.equal(pipeline.consumers[0].name, MATERIALISER);
    const orders = await value(pipeline.ordersTable.arn);
    const idempotency = await value(pipeline.idempotencyTable.arn);
    assert.deepEqual(statements.filter((s) => s.Resource.includes(orders)), [
      { Effect: "Allow", Action: ["dynamodb:PutItem", "dynamodb:UpdateItem"], Resource: [orders] },
    ]);
    assert.ok(!statements.some((s) => s.Resource.some((r) => r === idempotency || r.startsWith(`${idempotency}/`))));
    assert.ok(!statements.some((s) => s.Action.some((a) => a.startsWith("kinesis:Put"))));
    assert.ok(!statements.some((s) => s.Action.includes("dynamodb:DeleteItem")));
  });

  test("every role can be assumed by its one service only; Firehose's only for this account", async () => {
    await build();
    const services: Record<string, string> = {};
    for (const role of ofType("aws:iam/role:Role")) {
      const statements = JSON.parse(role.inputs.assumeRolePolicy).Statement;
      assert.equal(statements.length, 1, role.name);
      assert.deepEqual(Object.keys(statements[0].Principal), ["Service"], role.name);
      services[role.inputs.name] = statements[0].Principal.Service;
      if (statements[0].Principal.Service === "firehose.amazonaws.com") {
        assert.deepEqual(statements[0].Condition, { StringEquals: { "sts:ExternalId": ACCOUNT } });
      }
    }
    assert.deepEqual(services, {
      "orders-materialiser": "lambda.amazonaws.com",
      "orders-inventory": "lambda.amazonaws.com",
      "orders-fulfilment": "lambda.amazonaws.com",
      "orders-accounting": "lambda.amazonaws.com",
      "orders-query": "lambda.amazonaws.com",
      "orders-order-tables": "lambda.amazonaws.com",
      "orders-api-put-orders": "apigateway.amazonaws.com",
      "orders-archive": "firehose.amazonaws.com",
    });
  });
});

describe("encryption and exposure", () => {
  test("everything that stores data is encrypted with the pipeline key", async () => {
    const pipeline = await build();
    const key = await value(pipeline.key.arn);
    assert.equal(ofType("aws:kinesis/stream:Stream")[0].inputs.kmsKeyId, key);
    const tables = ofType("aws:dynamodb/table:Table");
    assert.equal(tables.length, 3);
    for (const table of tables) assert.equal(table.inputs.serverSideEncryption.kmsKeyArn, key, table.name);
    assert.equal(ofType("aws:sns/topic:Topic")[0].inputs.kmsMasterKeyId, key);
    assert.equal(ofType("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")[0].inputs.extendedS3Configuration.kmsKeyArn, key);
    const athena = ofType("aws:athena/workgroup:Workgroup")[0].inputs.configuration.resultConfiguration.encryptionConfiguration;
    assert.deepEqual(athena, { encryptionOption: "SSE_KMS", kmsKeyArn: key });
    const buckets = ofType("aws:s3/bucket:Bucket");
    const encryption = ofType("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
    assert.equal(buckets.length, 2);
    for (const bucket of buckets) {
      const config = encryption.find((e) => e.inputs.bucket === `${bucket.name}-id`);
      assert.ok(config, bucket.name);
      assert.deepEqual(config.inputs.rules[0].applyServerSideEncryptionByDefault, { sseAlgorithm: "aws:kms", kmsMasterKeyId: key });
    }
  });

  test("no bucket is public, and each refuses plain HTTP", async () => {
    await build();
    for (const bucket of ofType("aws:s3/bucket:Bucket")) {
      const id = `${bucket.name}-id`;
      const block = ofType("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").find((b) => b.inputs.bucket === id);
      assert.ok(block, bucket.name);
      for (const setting of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) {
        assert.equal(block.inputs[setting], true, `${bucket.name} ${setting}`);
      }
      const policy = ofType("aws:s3/bucketPolicy:BucketPolicy").find((p) => p.inputs.bucket === id);
      assert.ok(policy, bucket.name);
      const [statement] = JSON.parse(policy.inputs.policy).Statement;
      assert.equal(statement.Effect, "Deny");
      assert.deepEqual(statement.Condition, { Bool: { "aws:SecureTransport": "false" } });
      assert.ok(!JSON.parse(policy.inputs.policy).Statement.some((s: any) => s.Effect === "Allow"), bucket.name);
    }
  });
});

describe("the API", () => {
  test("POST routes go straight to Kinesis with the templates, the stream name fixed, behind Cognito and the schema", async () => {
    const pipeline = await build();
    const methods = ofType("aws:apigateway/method:Method");
    assert.equal(methods.length, 4);
    for (const method of methods) {
      assert.equal(method.inputs.authorization, "COGNITO_USER_POOLS", method.name);
      assert.equal(method.inputs.authorizerId, "orders-customers-id");
    }
    const [authorizer] = ofType("aws:apigateway/authorizer:Authorizer");
    assert.deepEqual(authorizer.inputs.providerArns, [await value(pipeline.api.userPool.arn)]);
    for (const [name, action] of [["orders-post-order", "PutRecord"], ["orders-post-batch", "PutRecords"]]) {
      const integration = one("aws:apigateway/integration:Integration", name).inputs;
      assert.equal(integration.type, "AWS");
      assert.equal(integration.uri, `arn:aws:apigateway:eu-west-1:kinesis:action/${action}`);
      assert.equal(integration.passthroughBehavior, "NEVER");
      const template: string = integration.requestTemplates["application/json"];
      assert.ok(template.includes('"StreamName":"orders"'), name);
      assert.ok(!template.includes("@@"), name);
      assert.ok(template.includes("context.authorizer.claims.sub"), name);
      const failed = one("aws:apigateway/integrationResponse:IntegrationResponse", `${name}-failed`).inputs;
      assert.equal(failed.selectionPattern, "4\\d{2}|5\\d{2}");
      assert.equal(failed.statusCode, "503");
      assert.ok(!failed.responseTemplates["application/json"].includes("$input.path('$.message')"));
    }
    const model = one("aws:apigateway/model:Model", "orders-order-model").inputs;
    assert.equal(JSON.parse(model.schema).title, "OrderRequest");
  });

  test("GET routes go to the query Lambda, which API Gateway alone may invoke, on GET /orders only", async () => {
    const pipeline = await build();
    const query = pipeline.api.query.fn;
    for (const name of ["orders-get-orders", "orders-get-order"]) {
      const integration = one("aws:apigateway/integration:Integration", name).inputs;
      assert.equal(integration.type, "AWS_PROXY");
      assert.equal(integration.uri, await value(query.invokeArn));
    }
    const permission = one("aws:lambda/permission:Permission", "orders-api-invokes-query");
    assert.equal(permission.inputs.principal, "apigateway.amazonaws.com");
    assert.equal(permission.inputs.function, await value(query.name));
    assert.match(permission.inputs.sourceArn, /\/\*\/GET\/orders\*$/);
    assert.equal(ofType("aws:lambda/function:Function").filter((f) => f.inputs.name === "orders-query").length, 1);
  });

  test("the stage is traced, throttled, and writes JSON access logs", async () => {
    const pipeline = await build({ apiRateLimit: 300, apiBurstLimit: 600 });
    const [stage] = ofType("aws:apigateway/stage:Stage");
    assert.equal(stage.inputs.xrayTracingEnabled, true);
    assert.equal(stage.inputs.accessLogSettings.destinationArn, await value(pipeline.api.accessLogs.arn));
    assert.equal(JSON.parse(stage.inputs.accessLogSettings.format).status, "$context.status");
    assert.equal(stage.inputs.accessLogSettings.format, ACCESS_LOG_FORMAT);
    const [settings] = ofType("aws:apigateway/methodSettings:MethodSettings");
    assert.equal(settings.inputs.settings.throttlingRateLimit, 300);
    assert.equal(settings.inputs.settings.throttlingBurstLimit, 600);
    const [sampling] = ofType("aws:xray/samplingRule:SamplingRule");
    assert.equal(sampling.inputs.serviceName, `${await value(pipeline.api.restApi.name)}/v1`);
    assert.equal(sampling.inputs.fixedRate, 0.01);
    assert.equal(sampling.inputs.reservoirSize, 0);
    const [plan] = ofType("aws:apigateway/usagePlan:UsagePlan");
    assert.deepEqual(plan.inputs.throttleSettings, { rateLimit: 300, burstLimit: 600 });
    for (const response of ofType("aws:apigateway/response:Response")) {
      assert.equal(response.inputs.responseParameters["gatewayresponse.header.Content-Type"], "'application/problem+json'");
      JSON.parse(response.inputs.responseTemplates["application/json"].replaceAll(/\$context\.error\.\w+/g, '"x"').replaceAll('""x""', '"x"'));
    }
  });
});

describe("the archive", () => {
  test("Firehose writes gzipped, newline-delimited records where the Glue table's projection looks", async () => {
    const pipeline = await build();
    const [firehose] = ofType("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream");
    const s3 = firehose.inputs.extendedS3Configuration;
    assert.equal(firehose.inputs.kinesisSourceConfiguration.kinesisStreamArn, await value(pipeline.stream.arn));
    assert.equal(s3.prefix, "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/");
    assert.match(s3.errorOutputPrefix, /^errors\/!\{firehose:error-output-type\}\//);
    assert.equal(s3.compressionFormat, "GZIP");
    assert.deepEqual(s3.processingConfiguration.processors, [{ type: "AppendDelimiterToRecord" }]);

    // The raw table over events/ (the analyst tables are tested in analytics.test.ts).
    const table = one("aws:glue/catalogTable:CatalogTable", "orders-raw-events");
    const bucket = await value(pipeline.archive.bucket.bucket);
    const template: string = table.inputs.parameters["storage.location.template"];
    // The same place, written in each service's syntax.
    const asProjection = s3.prefix.replace(/([a-z]+)=!\{timestamp:[A-Za-z]+\}/g, "$1=${$1}");
    assert.equal(template, `s3://${bucket}/${asProjection}`);
    assert.equal(projectionTemplate, asProjection);
    assert.equal(firehosePrefix, s3.prefix);
    assert.equal(table.inputs.storageDescriptor.location, `s3://${bucket}/events/`);
    assert.deepEqual(table.inputs.partitionKeys.map((k: { name: string }) => k.name), ["year", "month", "day", "hour"]);
    for (const key of ["year", "month", "day", "hour"]) {
      assert.equal(table.inputs.parameters[`projection.${key}.type`], "integer");
    }
  });

  test("Athena enforces its workgroup's scan cap and encrypted results", async () => {
    await build({ athenaBytesScannedCutoff: 5 * 1024 ** 3 });
    const [workgroup] = ofType("aws:athena/workgroup:Workgroup");
    assert.equal(workgroup.inputs.configuration.enforceWorkgroupConfiguration, true);
    assert.equal(workgroup.inputs.configuration.bytesScannedCutoffPerQuery, 5 * 1024 ** 3);
  });

  test("old archive objects move to cheaper storage", async () => {
    await build();
    const [lifecycle] = ofType("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration");
    const events = lifecycle.inputs.rules.find((r: { id: string }) => r.id === "events-to-cheaper-storage");
    assert.deepEqual(events.transitions.map((t: { storageClass: string }) => t.storageClass), ["STANDARD_IA", "GLACIER_IR"]);
    // Objects under 128 KB would cost more in those classes than in Standard.
    assert.deepEqual(events.filter.and, { prefix: "events/", objectSizeGreaterThan: 131072 });
  });
});

describe("monitoring", () => {
  function alarm(name: string): Recorded["inputs"] {
    return one("aws:cloudwatch/metricAlarm:MetricAlarm", name).inputs;
  }

  test("every alarm's dimensions are the real resources' names, and every alarm notifies the topic", async () => {
    const pipeline = await build();
    const topic = await value(pipeline.monitoring.topic.arn);
    const materialiser = await value(lambdaConsumers(pipeline.consumers)[0].lambda.fn.name);
    const behind = alarm("orders-orders-materialiser-behind");
    assert.equal(behind.metricName, "IteratorAge");
    assert.equal(behind.namespace, "AWS/Lambda");
    assert.deepEqual(behind.dimensions, { FunctionName: materialiser });
    assert.ok(!behind.dimensions.FunctionName.startsWith("arn:"));
    assert.deepEqual(alarm("orders-orders-materialiser-errors").dimensions, { FunctionName: materialiser });
    // Dead letters, counted by the consumer's EMF metrics line under its consumer name.
    assert.deepEqual(alarm("orders-orders-materialiser-dead-letters").dimensions, { Consumer: "orders-materialiser" });
    assert.deepEqual(alarm("orders-query-throttles").dimensions, { FunctionName: await value(pipeline.api.query.fn.name) });

    const api = { ApiName: await value(pipeline.api.restApi.name), Stage: "v1" };
    assert.notEqual(api.ApiName, await value(pipeline.api.restApi.id));
    assert.deepEqual(alarm("orders-api-5xx").dimensions, api);
    const requests = alarm("orders-api-429").metricQueries.find((q: { id: string }) => q.id === "requests");
    assert.deepEqual(requests.metric.dimensions, api);
    assert.deepEqual(alarm("orders-archive-stale").dimensions, { DeliveryStreamName: await value(pipeline.archive.firehose.name) });

    const alarms = ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
    // Per consumer: behind, dead letters, errors, throttles; query: errors, throttles; API 5xx
    // and 429; archive; order tables' errors.
    assert.equal(alarms.length, 4 * pipeline.consumers.length + 6);
    assert.equal(pipeline.consumers.length, 4);
    assert.equal(alarms.length, 22);
    assert.ok(!alarms.some((a) => a.inputs.metricName === "Poison"), "the poison alarm is replaced by the dead-letter one");
    for (const a of alarms) assert.deepEqual(a.inputs.alarmActions, [topic], a.name);
  });

  test("each consumer's dead letters raise an alarm that says how to list them", async () => {
    const pipeline = await build();
    const topic = await value(pipeline.monitoring.topic.arn);
    assert.deepEqual(pipeline.consumers.map((c) => c.name), Object.keys(eventSources()));
    for (const consumer of pipeline.consumers) {
      const deadLetters = alarm(`orders-${consumer.name}-dead-letters`);
      assert.equal(deadLetters.name, `orders-${consumer.name}-dead-letters`);
      assert.equal(deadLetters.namespace, "OrdersPipeline");
      assert.equal(deadLetters.metricName, "DeadLettered");
      assert.deepEqual(deadLetters.dimensions, { Consumer: consumer.name });
      assert.equal(deadLetters.statistic, "Sum");
      assert.equal(deadLetters.period, 300);
      assert.equal(deadLetters.evaluationPeriods, 1);
      assert.equal(deadLetters.threshold, 0);
      assert.equal(deadLetters.comparisonOperator, "GreaterThanThreshold");
      assert.equal(deadLetters.treatMissingData, "notBreaching");
      assert.deepEqual(deadLetters.alarmActions, [topic]);
      assert.deepEqual(deadLetters.okActions, [topic]);
      const command = `cargo run --release -p processors --bin redrive -- list --consumer ${consumer.name}`;
      assert.equal(redriveListCommand(consumer.name), command);
      assert.ok(deadLetters.alarmDescription.includes(command), deadLetters.alarmDescription);
      assert.ok(deadLetters.alarmDescription.includes("docs/consumers.md"));
      assert.ok(deadLetters.alarmDescription.length <= 1024);
      assert.equal(ofType("aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.name === `orders-${consumer.name}-poison`).length, 0);
      // The IteratorAge alarm stays.
      assert.equal(alarm(`orders-${consumer.name}-behind`).metricName, "IteratorAge");
    }
  });

  test("the 429 rate is counted from the access log the stage writes", async () => {
    const pipeline = await build();
    const [filter] = ofType("aws:cloudwatch/logMetricFilter:LogMetricFilter");
    assert.equal(filter.inputs.logGroupName, await value(pipeline.api.accessLogs.name));
    assert.equal(filter.inputs.pattern, '{ $.status = "429" }');
    const throttled = alarm("orders-api-429").metricQueries.find((q: { id: string }) => q.id === "throttled");
    assert.equal(throttled.metric.metricName, filter.inputs.metricTransformation.name);
    assert.equal(throttled.metric.namespace, filter.inputs.metricTransformation.namespace);
  });

  test("a failed batch from Lambda's on-failure destination is announced on the alarm topic, which only CloudWatch and that bucket may publish to", async () => {
    const pipeline = await build();
    const [notification] = ofType("aws:s3/bucketNotification:BucketNotification");
    assert.equal(notification.inputs.bucket, await value(pipeline.deadLetters.id));
    assert.equal(notification.inputs.topics[0].topicArn, await value(pipeline.monitoring.topic.arn));
    // The consumers' own letters (one per record) are alarmed on by metric, not one message each.
    assert.equal(notification.inputs.topics[0].filterPrefix, "aws/lambda/");
    const [policy] = ofType("aws:sns/topicPolicy:TopicPolicy");
    const statements = JSON.parse(policy.inputs.policy).Statement;
    assert.deepEqual(statements.map((s: any) => s.Principal.Service), ["cloudwatch.amazonaws.com", "s3.amazonaws.com"]);
    assert.equal(statements[1].Condition.ArnEquals["aws:SourceArn"], await value(pipeline.deadLetters.arn));
  });

  test("one dashboard shows the API, the stream, each consumer, the table and the archive", async () => {
    const pipeline = await build();
    const [dashboard] = ofType("aws:cloudwatch/dashboard:Dashboard");
    const body = JSON.parse(dashboard.inputs.dashboardBody);
    const metrics = JSON.stringify(body.widgets);
    assert.ok(metrics.includes(await value(lambdaConsumers(pipeline.consumers)[0].lambda.fn.name)));
    for (const metric of ["IteratorAge", "IncomingRecords", "ConsumedWriteCapacityUnits", "DeliveryToS3.DataFreshness", "5XXError"]) {
      assert.ok(metrics.includes(metric), metric);
    }
    assert.equal(body.widgets.find((w: any) => w.type === "alarm").properties.alarms.length, pipeline.monitoring.alarms.length);
  });
});

test("every taggable resource carries the stack's tags", async () => {
  await build({ tags: { team: "platform" } });
  const taggable = recorded.filter((r) => "tags" in r.inputs);
  assert.ok(taggable.length >= 20, `${taggable.length}`);
  for (const resource of taggable) {
    assert.equal(resource.inputs.tags.project, "orders-pipeline", resource.name);
    assert.equal(resource.inputs.tags.team, "platform", resource.name);
  }
  for (const type of ["aws:kinesis/stream:Stream", "aws:dynamodb/table:Table", "aws:lambda/function:Function", "aws:s3/bucket:Bucket", "aws:apigateway/restApi:RestApi"]) {
    assert.ok(ofType(type).every((r) => "tags" in r.inputs), type);
  }
});

describe("the services' URLs", () => {
  const KEYS = ["inventoryUrl", "fulfilmentUrl", "accountingUrl"] as const;

  test("each is required: a stack without them is refused, naming every missing key", () => {
    assert.throws(
      () => validate(testConfig({ inventoryUrl: undefined, fulfilmentUrl: "", accountingUrl: undefined } as any)),
      (error: Error) => KEYS.every((key) => error.message.includes(`${key} is required`)),
    );
  });

  test("each must be an https:// URL, and the error names the config key", () => {
    for (const key of KEYS) {
      for (const bad of ["http://inventory.example.com", "inventory.example.com", "https://", "ftp://x"]) {
        assert.throws(
          () => validate(testConfig({ [key]: bad })),
          (error: Error) => error.message.includes(`${key} '${bad}' must be an https:// URL`) &&
            KEYS.filter((k) => k !== key).every((k) => !error.message.includes(k)),
          `${key}=${bad}`,
        );
      }
    }
    assert.doesNotThrow(() => validate(testConfig()));
  });

  test("load() reads them from the stack's config and refuses a missing or non-https one by its key", () => {
    try {
      setStackConfig({ ...SERVICE_URLS, inventoryUrl: "https://stock.example.com" });
      const config = load();
      assert.equal(config.inventoryUrl, "https://stock.example.com");
      assert.equal(config.fulfilmentUrl, SERVICE_URLS.fulfilmentUrl);
      assert.equal(config.accountingUrl, SERVICE_URLS.accountingUrl);

      setStackConfig({ inventoryUrl: SERVICE_URLS.inventoryUrl, accountingUrl: SERVICE_URLS.accountingUrl });
      assert.throws(() => load(), /fulfilmentUrl is required: the fulfilment service's base URL \(pulumi config set fulfilmentUrl https:\/\/\.\.\.\)/);

      setStackConfig({ ...SERVICE_URLS, accountingUrl: "http://ledger.example.com" });
      assert.throws(() => load(), /accountingUrl 'http:\/\/ledger\.example\.com' must be an https:\/\/ URL/);
    } finally {
      setStackConfig(SERVICE_URLS);
    }
  });
});

test("a bad configuration is refused with every problem named", () => {
  assert.throws(
    () => validate(testConfig({ prefix: "Orders!", retentionHours: 10, shardCount: 0, logRetentionDays: 42 })),
    (error: Error) =>
      error.message.includes("prefix 'Orders!'") &&
      error.message.includes("retentionHours 10") &&
      error.message.includes("shardCount 0") &&
      error.message.includes("logRetentionDays 42"),
  );
});

describe("the downstream services' credentials", () => {
  /** Two APIs behind IAM authorisation: one method of one, every method of the other's stage. */
  const ARNS = [
    `arn:aws:execute-api:${REGION}:${ACCOUNT}:a1b2c3d4e5/prod/POST/reservations`,
    `arn:aws:execute-api:${REGION}:${ACCOUNT}:f6g7h8i9j0/prod/*`,
  ];
  const PARAMETER = "aws:ssm/parameter:Parameter";
  const iam = { downstreamAuth: "iam", downstreamInvokeArns: ARNS } as const;
  const apiKey = (isSecret = true): Partial<PipelineConfig> => ({
    downstreamAuth: "api-key",
    downstreamApiKey: { value: pulumi.secret("k-123"), isSecret } satisfies SecretSetting,
  });

  /** Each Lambda's DOWNSTREAM_* variables, by function name. */
  function downstreamVariables(): Map<string, Record<string, string>> {
    return new Map(ofType("aws:lambda/function:Function").map((fn) => [
      fn.inputs.name as string,
      Object.fromEntries(Object.entries(fn.inputs.environment.variables as Record<string, string>).filter(([k]) => k.startsWith("DOWNSTREAM_"))),
    ]));
  }

  /** Each role's statements that reach the services or their key: execute-api, ssm, or a KMS key other than the pipeline's. */
  async function downstreamStatements(pipeline: Pipeline): Promise<Map<string, Statement[]>> {
    const key = await value(pipeline.key.arn);
    const reaching = (s: Statement) =>
      s.Action.some((a) => a.startsWith("execute-api:") || a.startsWith("ssm:")) ||
      (s.Action.some((a) => a.startsWith("kms:")) && s.Resource.some((r) => r !== key));
    return new Map([...rolePolicies()].map(([role, statements]) => [role, statements.filter(reaching)]));
  }

  /** Throws unless `config` is refused with a message matching `pattern`. */
  function refused(config: Partial<PipelineConfig>, pattern: RegExp, message?: string): void {
    assert.throws(() => validate(testConfig(config)), pattern, message);
  }

  test("by default none: no variable, no parameter, and no role may invoke an API or read a parameter", async () => {
    const pipeline = await build(validate(testConfig()));
    assert.equal(testConfig().downstreamAuth, "none");
    for (const [fn, variables] of downstreamVariables()) assert.deepEqual(variables, {}, fn);
    assert.equal(ofType(PARAMETER).length, 0);
    assert.equal(pipeline.downstreamApiKey, undefined);
    const statements = await downstreamStatements(pipeline);
    assert.equal(statements.size, 8);
    for (const [role, found] of statements) assert.deepEqual(found, [], role);
  });

  test("iam: DOWNSTREAM_AUTH=iam on exactly the three saga stages, whose roles may invoke exactly the configured ARNs", async () => {
    const pipeline = await build(validate(testConfig(iam)));
    const variables = downstreamVariables();
    assert.equal(variables.size, 6);
    for (const [fn, found] of variables) {
      assert.deepEqual(found, STAGES.includes(fn) ? { [DOWNSTREAM_AUTH_VAR]: "iam" } : {}, fn);
    }
    assert.equal(DOWNSTREAM_AUTH_VAR, "DOWNSTREAM_AUTH");
    const stageRoles = await Promise.all(lambdaConsumers(pipeline.consumers).filter((c) => STAGES.includes(c.name)).map((c) => value(c.lambda.role.name)));
    assert.equal(stageRoles.length, 3);
    for (const [role, found] of await downstreamStatements(pipeline)) {
      const expected: Statement[] = stageRoles.includes(role) ? [{ Effect: "Allow", Action: ["execute-api:Invoke"], Resource: ARNS }] : [];
      assert.deepEqual(found, expected, role);
    }
    assert.equal(ofType(PARAMETER).length, 0);
  });

  test("iam without ARNs is refused, naming the key; ARNs without iam are refused too", () => {
    refused({ downstreamAuth: "iam" }, /downstreamInvokeArns is required when downstreamAuth is iam/);
    refused({ downstreamAuth: "iam", downstreamInvokeArns: [] }, /downstreamInvokeArns is required when downstreamAuth is iam/);
    refused({ downstreamInvokeArns: ARNS }, /downstreamInvokeArns is only used when downstreamAuth is iam, not 'none'/);
    refused({ ...apiKey(), downstreamInvokeArns: ARNS }, /downstreamInvokeArns is only used when downstreamAuth is iam, not 'api-key'/);
    assert.doesNotThrow(() => validate(testConfig(iam)));
  });

  test("an ARN that is not an execute-api ARN naming its region, account and API is refused, each by its value", () => {
    const bad = [
      `arn:aws:execute-api:${REGION}:${ACCOUNT}:*`,
      `arn:aws:execute-api:*:${ACCOUNT}:a1b2c3d4e5/prod/*`,
      `arn:aws:execute-api:${REGION}:*:a1b2c3d4e5/prod/*`,
      `arn:aws:execute-api:${REGION}:1234:a1b2c3d4e5/prod/*`,
      `arn:aws:execute-api:${REGION}:${ACCOUNT}:a1b2c3d4e5`,
      `arn:aws:lambda:${REGION}:${ACCOUNT}:function:orders-inventory`,
      "a1b2c3d4e5/prod/GET/stock",
      "*",
      "",
    ];
    for (const arn of bad) {
      assert.throws(
        () => validate(testConfig({ downstreamAuth: "iam", downstreamInvokeArns: [ARNS[0], arn] })),
        (error: Error) => error.message.includes(`downstreamInvokeArns '${arn}' is not an execute-api ARN`) &&
          !error.message.includes(`'${ARNS[0]}'`),
        arn,
      );
    }
    for (const good of [...ARNS, `arn:aws-us-gov:execute-api:us-gov-west-1:${ACCOUNT}:a1b2c3d4e5/*/GET/`]) {
      assert.doesNotThrow(() => validate(testConfig({ downstreamAuth: "iam", downstreamInvokeArns: [good] })), good);
    }
  });

  test("api-key: one Standard SecureString under aws/ssm, both variables on exactly the three saga stages, whose roles may read exactly it", async () => {
    const pipeline = await build(validate(testConfig(apiKey())));
    const parameters = ofType(PARAMETER);
    assert.equal(parameters.length, 1);
    const parameter = parameters[0].inputs;
    assert.equal(parameter.name, "/orders/downstream-api-key");
    assert.equal(parameter.type, "SecureString");
    assert.equal(parameter.tier, "Standard");
    assert.equal(parameter.keyId, "alias/aws/ssm");
    // Sent to the engine marked secret, so that it is encrypted in the state and masked in
    // previews (the config value is a secret, and the provider marks `value` secret as well).
    assert.deepEqual(parameter.value, { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: "k-123" });
    assert.equal(parameter.tags.project, "orders-pipeline");
    assert.ok(pipeline.downstreamApiKey);
    const name: string = await value(pipeline.downstreamApiKey.name);
    const arn: string = await value(pipeline.downstreamApiKey.arn);
    assert.equal(name, "/orders/downstream-api-key");

    const variables = downstreamVariables();
    assert.equal(variables.size, 6);
    for (const [fn, found] of variables) {
      const expected: Record<string, string> = STAGES.includes(fn) ? { [DOWNSTREAM_AUTH_VAR]: "api-key", [DOWNSTREAM_API_KEY_PARAMETER_VAR]: name } : {};
      assert.deepEqual(found, expected, fn);
    }
    assert.equal(DOWNSTREAM_API_KEY_PARAMETER_VAR, "DOWNSTREAM_API_KEY_PARAMETER");
    // ssm:GetParameter on that one parameter, and no kms:Decrypt beyond the pipeline key: the
    // aws/ssm key's own policy lets the account's principals decrypt through Parameter Store.
    const stageRoles = await Promise.all(lambdaConsumers(pipeline.consumers).filter((c) => STAGES.includes(c.name)).map((c) => value(c.lambda.role.name)));
    for (const [role, found] of await downstreamStatements(pipeline)) {
      const expected: Statement[] = stageRoles.includes(role) ? [{ Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [arn] }] : [];
      assert.deepEqual(found, expected, role);
    }
  });

  test("api-key: the parameter is named under the stack's prefix, and its value stays a secret", async () => {
    const pipeline = await build(validate(testConfig({ ...apiKey(), prefix: "staging" })));
    assert.equal(one(PARAMETER, "staging-downstream-api-key").inputs.name, "/staging/downstream-api-key");
    assert.equal(await pulumi.isSecret(pipeline.downstreamApiKey!.value), true);
    for (const [fn, found] of downstreamVariables()) {
      assert.equal(found[DOWNSTREAM_API_KEY_PARAMETER_VAR], STAGES.map((s) => s.replace("orders-", "staging-")).includes(fn) ? "/staging/downstream-api-key" : undefined, fn);
    }
  });

  test("api-key without the key, or with it in plain text, is refused; the key without api-key is refused too", () => {
    refused({ downstreamAuth: "api-key" }, /downstreamApiKey is required when downstreamAuth is api-key \(pulumi config set --secret downstreamApiKey/);
    refused(apiKey(false), /downstreamApiKey must be a secret, and is in plain text in the stack's config/);
    refused({ ...iam, downstreamApiKey: apiKey().downstreamApiKey }, /downstreamApiKey is only used when downstreamAuth is api-key, not 'iam'/);
    refused({ downstreamApiKey: apiKey().downstreamApiKey }, /downstreamApiKey is only used when downstreamAuth is api-key, not 'none'/);
    assert.doesNotThrow(() => validate(testConfig(apiKey())));
  });

  test("an unknown downstreamAuth is refused, naming the allowed values", () => {
    for (const bad of ["IAM", "apikey", "oauth", ""]) {
      refused({ downstreamAuth: bad as PipelineConfig["downstreamAuth"] }, new RegExp(`downstreamAuth '${bad}' must be one of none, iam, api-key`), bad);
    }
  });

  test("load() reads them from the stack's config: a list of ARNs, and the key as a secret, refused when set in plain text", async () => {
    try {
      setStackConfig(SERVICE_URLS);
      const none = load();
      assert.equal(none.downstreamAuth, "none");
      assert.deepEqual(none.downstreamInvokeArns, []);
      assert.equal(none.downstreamApiKey, undefined);

      // `pulumi config set --path 'downstreamInvokeArns[0]' …` stores a list, which reaches the program as JSON.
      setStackConfig({ ...SERVICE_URLS, downstreamAuth: "iam", downstreamInvokeArns: JSON.stringify(ARNS) });
      assert.deepEqual(load().downstreamInvokeArns, ARNS);
      setStackConfig({ ...SERVICE_URLS, downstreamAuth: "iam", downstreamInvokeArns: ARNS[0] });
      assert.throws(() => load(), /downstreamInvokeArns must be a list of execute-api ARNs \(pulumi config set --path 'downstreamInvokeArns\[0\]'/);
      setStackConfig({ ...SERVICE_URLS, downstreamAuth: "iam" });
      assert.throws(() => load(), /downstreamInvokeArns is required when downstreamAuth is iam/);
      setStackConfig({ ...SERVICE_URLS, downstreamAuth: "oauth" });
      assert.throws(() => load(), /downstreamAuth 'oauth' must be one of none, iam, api-key/);

      // Set with --secret: the language host names the key among the secret ones.
      setStackConfig({ ...SERVICE_URLS, downstreamAuth: "api-key", downstreamApiKey: "k-123" }, ["downstreamApiKey"]);
      const secret = load();
      assert.equal(secret.downstreamAuth, "api-key");
      assert.equal(secret.downstreamApiKey?.isSecret, true);
      assert.equal(await pulumi.isSecret(secret.downstreamApiKey.value), true);
      assert.equal(await value(secret.downstreamApiKey.value), "k-123");

      // Set without --secret: the same value, in plain text in Pulumi.<stack>.yaml.
      setStackConfig({ ...SERVICE_URLS, downstreamAuth: "api-key", downstreamApiKey: "k-123" });
      assert.throws(() => load(), /downstreamApiKey must be a secret, and is in plain text in the stack's config: set it again with pulumi config set --secret downstreamApiKey/);
      // Another key being secret does not make this one so.
      setStackConfig({ ...SERVICE_URLS, downstreamAuth: "api-key", downstreamApiKey: "k-123", alarmEmail: "ops@example.com" }, ["alarmEmail"]);
      assert.throws(() => load(), /downstreamApiKey must be a secret/);
      setStackConfig({ ...SERVICE_URLS, downstreamAuth: "api-key" });
      assert.throws(() => load(), /downstreamApiKey is required when downstreamAuth is api-key/);
    } finally {
      setStackConfig(SERVICE_URLS);
    }
  });
});
