import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { PolicyResource, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";

import { ACCOUNT, REGION, Recorded, recorded, settle, testConfig } from "./mocks";
import { PipelineConfig, validate } from "../src/config";
import { eventSources } from "../src/consumers";
import { createPipeline } from "../src/pipeline";
import { consumersAlarmed, lambdasLoggedAndAlarmed, policies, servicesLoggedAndAlarmed } from "../policy/policies";

beforeEach(() => {
  recorded.length = 0;
});

/** Runs every policy that applies to a resource of `type`, as the engine does; returns the violations. */
async function violations(type: string, props: Record<string, any>): Promise<string[]> {
  const found: string[] = [];
  const args = {
    type,
    props,
    urn: `urn:pulumi:test::orders-pipeline::${type}::r`,
    name: "r",
    opts: {},
    isType: (resourceClass: { __pulumiType?: string }) => resourceClass.__pulumiType === type,
  } as unknown as ResourceValidationArgs;
  for (const policy of policies) {
    if (!("validateResource" in policy)) continue;
    const validators = [policy.validateResource ?? []].flat();
    for (const validate of validators) {
      // validateResourceOfType tags its validator with the type it applies to.
      if ((validate as { __pulumiType?: string }).__pulumiType !== type) continue;
      await validate(args, (message: string) => found.push(`${policy.name}: ${message}`));
    }
  }
  return found;
}

/** The stack as a stack policy sees it: every resource with its outputs (the mocks' state). */
function stackOf(resources: Recorded[]): PolicyResource[] {
  return resources.map((r) => {
    const isType = (resourceClass: { __pulumiType?: string }) => resourceClass.__pulumiType === r.type;
    return {
      type: r.type,
      props: r.state,
      urn: `urn:pulumi:test::orders-pipeline::${r.type}::${r.name}`,
      name: r.name,
      opts: {},
      dependencies: [],
      propertyDependencies: {},
      isType,
      asType: (resourceClass: { __pulumiType?: string }) => (isType(resourceClass) ? r.state : undefined),
    } as unknown as PolicyResource;
  });
}

/** Runs every stack policy on `resources`, as the engine does after an update; returns the violations. */
async function stackViolations(resources: Recorded[]): Promise<string[]> {
  const found: string[] = [];
  const args = { resources: stackOf(resources), stackTags: new Map(), getConfig: () => ({}) } as unknown as StackValidationArgs;
  for (const policy of policies) {
    if (!("validateStack" in policy)) continue;
    await policy.validateStack(args, (message: string) => found.push(`${policy.name}: ${message}`));
  }
  return found;
}

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";

test("every resource of the pipeline passes the security policies, and the stack passes the stack policies", async () => {
  createPipeline(testConfig());
  await settle();
  assert.ok(recorded.length >= 50);
  for (const resource of recorded) {
    assert.deepEqual(await violations(resource.type, resource.inputs), [], resource.name);
  }
  assert.ok(policies.includes(consumersAlarmed));
  assert.ok(policies.includes(lambdasLoggedAndAlarmed));
  assert.ok(policies.includes(servicesLoggedAndAlarmed));
  assert.deepEqual(await stackViolations(recorded), []);
});

test("a stack that manages the account's API Gateway logging role passes too: the role's grants are named", async () => {
  createPipeline(testConfig({ manageApiGatewayAccount: true }));
  await settle();
  const logs = recorded.filter((r) => r.name === "orders-api-logs");
  assert.deepEqual(logs.map((r) => r.type).sort(), ["aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"]);
  for (const resource of recorded) {
    assert.deepEqual(await violations(resource.type, resource.inputs), [], resource.name);
  }
  assert.deepEqual(await stackViolations(recorded), []);
});

test("stacks whose saga stages authenticate to their services, by IAM or by API key, pass every policy too", async () => {
  const modes: Partial<PipelineConfig>[] = [
    { downstreamAuth: "iam", downstreamInvokeArns: [`arn:aws:execute-api:${REGION}:${ACCOUNT}:a1b2c3d4e5/prod/*`] },
    { downstreamAuth: "api-key", downstreamApiKey: { value: pulumi.secret("k-123"), isSecret: true } },
  ];
  for (const mode of modes) {
    recorded.length = 0;
    createPipeline(validate(testConfig(mode)));
    await settle();
    const policies = recorded.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy").map((r) => r.inputs.policy as string);
    const action = mode.downstreamAuth === "iam" ? "execute-api:Invoke" : "ssm:GetParameter";
    assert.equal(policies.filter((p) => p.includes(`"${action}"`)).length, 3, mode.downstreamAuth);
    assert.equal(recorded.filter((r) => r.type === "aws:ssm/parameter:Parameter").length, mode.downstreamAuth === "api-key" ? 1 : 0);
    for (const resource of recorded) {
      assert.deepEqual(await violations(resource.type, resource.inputs), [], `${mode.downstreamAuth} ${resource.name}`);
    }
    assert.deepEqual(await stackViolations(recorded), [], mode.downstreamAuth);
  }
});

test("a stack on provisioned DynamoDB capacity passes every policy too: its scaling and throttling alarms change no consumer's alarms", async () => {
  createPipeline(validate(testConfig({ dynamodbCapacity: "provisioned" })));
  await settle();
  assert.equal(recorded.filter((r) => r.type === "aws:appautoscaling/target:Target").length, 5);
  assert.equal(recorded.filter((r) => r.type === ALARM).length, 24);
  for (const resource of recorded) {
    assert.deepEqual(await violations(resource.type, resource.inputs), [], resource.name);
  }
  assert.deepEqual(await stackViolations(recorded), []);
});

test("a parameter that is not a SecureString is refused; ssm:GetParameter and execute-api:Invoke on '*' are refused", async () => {
  for (const type of ["String", "StringList"]) {
    assert.deepEqual(await violations("aws:ssm/parameter:Parameter", { name: "/orders/downstream-api-key", type, value: "k" }), [
      `ssm-parameter-secure-string: the parameter must be a SecureString, not ${type}`,
    ]);
  }
  assert.deepEqual(await violations("aws:ssm/parameter:Parameter", { name: "/orders/downstream-api-key", type: "SecureString", value: "k" }), []);
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["ssm:GetParameter"], Resource: "*" },
      { Effect: "Allow", Action: ["execute-api:Invoke"], Resource: ["*"] },
      // Named: a wildcard inside an ARN is the API's own stage, method and path.
      { Effect: "Allow", Action: ["execute-api:Invoke"], Resource: [`arn:aws:execute-api:${REGION}:${ACCOUNT}:a1b2c3d4e5/prod/*`] },
    ],
  });
  assert.deepEqual(await violations("aws:iam/rolePolicy:RolePolicy", { role: "r", policy }), [
    "iam-no-data-action-on-everything: ssm:GetParameter on every resource",
    "iam-no-data-action-on-everything: execute-api:Invoke on every resource",
  ]);
});

test("the failures and idempotency tables pass the table policy: customer key and point-in-time recovery", async () => {
  createPipeline(testConfig());
  await settle();
  const tables = recorded.filter((r) => r.type === "aws:dynamodb/table:Table");
  // Sorted: the mocks record resources in the order their inputs resolve, which is not fixed.
  assert.deepEqual(tables.map((t) => t.name).sort(), ["orders-failures-table", "orders-idempotency-table", "orders-orders-table"]);
  for (const table of tables) {
    assert.deepEqual(await violations(table.type, table.inputs), [], table.name);
  }
});

describe("every consumer has a dead-letter alarm and an IteratorAge alarm", () => {
  const consumers = Object.keys(eventSources());

  async function pipelineWithout(drop: (alarm: Recorded) => boolean): Promise<string[]> {
    createPipeline(testConfig());
    await settle();
    const kept = recorded.filter((r) => !(r.type === ALARM && drop(r)));
    assert.equal(kept.length, recorded.length - consumers.length, "one alarm dropped per consumer");
    return stackViolations(kept);
  }

  test("a consumer without its dead-letter alarm is refused", async () => {
    const found = await pipelineWithout((a) => a.inputs.metricName === "DeadLettered");
    assert.deepEqual(found, consumers.map((c) =>
      `consumer-dead-letter-and-behind-alarms: consumer ${c} has no alarm on OrdersPipeline/DeadLettered with dimension Consumer=${c}`));
  });

  test("a consumer without its IteratorAge alarm is refused", async () => {
    const found = await pipelineWithout((a) => a.inputs.metricName === "IteratorAge");
    assert.equal(found.length, consumers.length);
    for (const [i, c] of consumers.entries()) {
      assert.match(found[i], new RegExp(`^consumer-dead-letter-and-behind-alarms: consumer ${c} has no IteratorAge alarm on its function `));
    }
  });

  test("alarms on the wrong consumer or the wrong function do not count", async () => {
    createPipeline(testConfig());
    await settle();
    const query = recorded.find((r) => r.type === "aws:lambda/function:Function" && r.inputs.name === "orders-query")!;
    const misdirected = recorded.map((r) => {
      if (r.type !== ALARM) return r;
      if (r.inputs.metricName === "DeadLettered") {
        return { ...r, state: { ...r.state, dimensions: { Consumer: "someone-else" } } };
      }
      if (r.inputs.metricName === "IteratorAge") {
        return { ...r, state: { ...r.state, dimensions: { FunctionName: query.state.name } } };
      }
      // The Poison metric, or Errors on the function, is not what the rule asks for either.
      return r;
    });
    assert.equal((await stackViolations(misdirected)).length, 2 * consumers.length);
    const poisonOnly = recorded.map((r) => r.type === ALARM && r.inputs.metricName === "DeadLettered"
      ? { ...r, state: { ...r.state, metricName: "Poison" } }
      : r);
    assert.equal((await stackViolations(poisonOnly)).length, consumers.length);
  });

  test("a consumer whose function cannot be found is refused", async () => {
    createPipeline(testConfig());
    await settle();
    const found = await stackViolations(recorded.filter((r) => r.type !== "aws:lambda/eventSourceMapping:EventSourceMapping"));
    assert.deepEqual(found, consumers.map(noLambdaNorWorkerAlarm));
  });
});

/** What the consumers' rule says of a consumer with neither a Lambda nor a worker's behind alarm. */
function noLambdaNorWorkerAlarm(consumer: string): string {
  return `consumer-dead-letter-and-behind-alarms: consumer ${consumer} has no Lambda function invoked from its enhanced fan-out consumer, ` +
    `and no alarm on AWS/Kinesis/SubscribeToShardEvent.MillisBehindLatest for it (ConsumerName=${consumer} on its stream) as its workers on Fargate need`;
}

describe("consumers on Fargate", () => {
  const IMAGE = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/orders-consumer:v1`;
  const onFargate = (...names: string[]): Partial<PipelineConfig> => ({
    consumerHosts: Object.fromEntries(names.map((n) => [n, "fargate" as const])),
    consumerImage: IMAGE,
    fargateSubnetIds: ["subnet-0aaaaaaaaaaaaaaaa"],
  });
  const MATERIALISER = "orders-materialiser";
  const isEfoBehind = (r: Recorded) => r.type === ALARM && r.inputs.metricName === "SubscribeToShardEvent.MillisBehindLatest";

  test("a stack with one or every consumer on Fargate passes every policy: a worker's behind alarm stands for IteratorAge", async () => {
    for (const names of [[MATERIALISER], Object.keys(eventSources())]) {
      recorded.length = 0;
      createPipeline(validate(testConfig(onFargate(...names))));
      await settle();
      assert.equal(recorded.filter((r) => r.type === "aws:ecs/service:Service").length, names.length);
      assert.equal(recorded.filter(isEfoBehind).length, names.length);
      for (const resource of recorded) {
        assert.deepEqual(await violations(resource.type, resource.inputs), [], resource.name);
      }
      assert.deepEqual(await stackViolations(recorded), [], names.join(", "));
    }
  });

  test("a consumer on Fargate without its MillisBehindLatest alarm, or with one on another consumer or stream, is refused", async () => {
    createPipeline(validate(testConfig(onFargate(MATERIALISER))));
    await settle();
    assert.deepEqual(await stackViolations(recorded.filter((r) => !isEfoBehind(r))), [noLambdaNorWorkerAlarm(MATERIALISER)]);
    const elsewhere = (dimensions: Record<string, string>) => recorded.map((r) =>
      isEfoBehind(r) ? { ...r, state: { ...r.state, dimensions: { ...r.state.dimensions, ...dimensions } } } : r);
    assert.deepEqual(await stackViolations(elsewhere({ ConsumerName: "orders-inventory" })), [noLambdaNorWorkerAlarm(MATERIALISER)]);
    assert.deepEqual(await stackViolations(elsewhere({ StreamName: "another-stream" })), [noLambdaNorWorkerAlarm(MATERIALISER)]);
    // Its dead-letter alarm is required as on Lambda.
    const withoutDeadLetters = recorded.filter((r) => !(r.type === ALARM && r.inputs.metricName === "DeadLettered" && r.inputs.dimensions.Consumer === MATERIALISER));
    assert.deepEqual(await stackViolations(withoutDeadLetters), [
      `consumer-dead-letter-and-behind-alarms: consumer ${MATERIALISER} has no alarm on OrdersPipeline/DeadLettered with dimension Consumer=${MATERIALISER}`,
    ]);
  });

  test("a worker's service without its running alarm, or logging unencrypted, forever or nowhere, is refused", async () => {
    createPipeline(validate(testConfig(onFargate(MATERIALISER))));
    await settle();
    const RULE = "ecs-service-log-group-and-running-alarm";
    const where = `${RULE}: ECS service ${MATERIALISER}'s container consumer`;
    const isOwnLogs = (r: Recorded) => r.type === "aws:cloudwatch/logGroup:LogGroup" && r.inputs.name === `/ecs/${MATERIALISER}`;
    const isRunning = (r: Recorded) => r.type === ALARM && r.inputs.metricName === "CPUUtilization";
    assert.equal(recorded.filter(isOwnLogs).length, 1);
    assert.equal(recorded.filter(isRunning).length, 1);
    assert.deepEqual(await stackViolations(recorded.filter((r) => !isRunning(r))), [
      `${RULE}: ECS service ${MATERIALISER} has no alarm on its AWS/ECS CPUUtilization`,
    ]);
    assert.deepEqual(await stackViolations(recorded.filter((r) => !isOwnLogs(r))), [`${where} does not log through awslogs to a log group of the stack`]);
    const changed = (state: Record<string, unknown>) => recorded.map((r) => isOwnLogs(r) ? { ...r, state: { ...r.state, ...state } } : r);
    assert.deepEqual(await stackViolations(changed({ kmsKeyId: undefined })), [`${where} logs to /ecs/${MATERIALISER}, which is not encrypted with a KMS key`]);
    assert.deepEqual(await stackViolations(changed({ retentionInDays: undefined })), [`${where} logs to /ecs/${MATERIALISER}, which has no retention`]);
    const isTask = (r: Recorded) => r.type === "aws:ecs/taskDefinition:TaskDefinition";
    const unlogged = recorded.map((r) => {
      if (!isTask(r)) return r;
      const containers = JSON.parse(r.state.containerDefinitions).map((c: Record<string, unknown>) => ({ ...c, logConfiguration: undefined }));
      return { ...r, state: { ...r.state, containerDefinitions: JSON.stringify(containers) } };
    });
    assert.deepEqual(await stackViolations(unlogged), [`${where} does not log through awslogs to a log group of the stack`]);
    assert.deepEqual(await stackViolations(recorded.filter((r) => !isTask(r))), [`${RULE}: ECS service ${MATERIALISER} runs no task definition of the stack`]);
  });

  test("the workers' role policies pass the IAM rule: ECR's sign-in is the only action on '*', and it reads no data", async () => {
    createPipeline(validate(testConfig(onFargate(MATERIALISER))));
    await settle();
    const roles = recorded.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && /-(task|execution)$/.test(r.inputs.role));
    assert.deepEqual(roles.map((r) => r.inputs.role).sort(), ["orders-materialiser-execution", "orders-materialiser-task"]);
    for (const role of roles) assert.deepEqual(await violations(role.type, role.inputs), [], role.inputs.role);
    const onEverything = roles.flatMap((r) => JSON.parse(r.inputs.policy).Statement).filter((s: { Resource: string[] }) => s.Resource.includes("*"));
    assert.deepEqual(onEverything.map((s: { Action: string[] }) => s.Action), [["ecr:GetAuthorizationToken"]]);
  });
});

test("an unencrypted stream is refused", async () => {
  const found = await violations("aws:kinesis/stream:Stream", { name: "s", encryptionType: "NONE" });
  assert.equal(found.length, 1);
  assert.match(found[0], /^kinesis-stream-encrypted-with-kms/);
});

test("a table without point-in-time recovery or a customer key is refused on both counts", async () => {
  const found = await violations("aws:dynamodb/table:Table", {
    name: "t",
    serverSideEncryption: { enabled: true },
    pointInTimeRecovery: { enabled: false },
  });
  assert.equal(found.length, 2);
});

test("a key without rotation is refused", async () => {
  const found = await violations("aws:kms/key:Key", { enableKeyRotation: false });
  assert.deepEqual(found, ["kms-key-rotation: the key must enable rotation"]);
});

test("a bucket whose public access is not fully blocked is refused", async () => {
  const found = await violations("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {
    bucket: "b",
    blockPublicAcls: true,
    blockPublicPolicy: false,
    ignorePublicAcls: true,
  });
  assert.deepEqual(found.sort(), [
    "s3-public-access-blocked: blockPublicPolicy must be true",
    "s3-public-access-blocked: restrictPublicBuckets must be true",
  ]);
});

test("a role policy with a data action on '*' or a wildcard action is refused", async () => {
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["dynamodb:PutItem"], Resource: "*" },
      { Effect: "Allow", Action: "kinesis:*", Resource: ["arn:aws:kinesis:eu-west-1:1:stream/orders"] },
      { Effect: "Allow", Action: ["xray:PutTraceSegments"], Resource: "*" },
    ],
  });
  const found = await violations("aws:iam/rolePolicy:RolePolicy", { role: "r", policy });
  assert.deepEqual(found, [
    "iam-no-data-action-on-everything: dynamodb:PutItem on every resource",
    "iam-no-data-action-on-everything: wildcard action kinesis:*",
  ]);
});

test("a DynamoDB grant under a dynamodb:LeadingKeys condition passes on a named table, and still fails on '*'", async () => {
  const condition = { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["orders-inventory"] } };
  const policy = (resource: string | string[]) => JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["dynamodb:PutItem", "dynamodb:DeleteItem"], Resource: resource, Condition: condition }],
  });
  const table = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-idempotency";
  assert.deepEqual(await violations("aws:iam/rolePolicy:RolePolicy", { role: "r", policy: policy([table]) }), []);
  assert.deepEqual(await violations("aws:iam/rolePolicy:RolePolicy", { role: "r", policy: policy(table) }), []);
  // A condition does not make '*' a named resource.
  assert.deepEqual(await violations("aws:iam/rolePolicy:RolePolicy", { role: "r", policy: policy("*") }), [
    "iam-no-data-action-on-everything: dynamodb:PutItem on every resource",
    "iam-no-data-action-on-everything: dynamodb:DeleteItem on every resource",
  ]);
});

test("the consumers' conditioned role policies, as the program writes them, pass", async () => {
  createPipeline(testConfig());
  await settle();
  const conditioned = recorded.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy" &&
    JSON.parse(r.inputs.policy).Statement.some((s: { Condition?: unknown }) => s.Condition));
  // Each consumer's failures grant, and each saga stage's idempotency grant; the order-tables
  // Lambda's listing of the archive under two prefixes.
  assert.equal(conditioned.length, Object.keys(eventSources()).length + 1);
  for (const policy of conditioned) {
    assert.deepEqual(await violations(policy.type, policy.inputs), [], policy.name);
  }
});

test("an untraced Lambda and an unencrypted topic are refused", async () => {
  assert.equal((await violations("aws:lambda/function:Function", { role: "r", tracingConfig: { mode: "PassThrough" } })).length, 1);
  assert.equal((await violations("aws:sns/topic:Topic", { name: "t" })).length, 1);
});

describe("every Glue table finds its partitions by projection", () => {
  const TABLE = "aws:glue/catalogTable:CatalogTable";

  test("the raw table and the analyst tables pass", async () => {
    createPipeline(testConfig());
    await settle();
    const tables = recorded.filter((r) => r.type === TABLE);
    assert.deepEqual(tables.map((t) => t.inputs.name).sort(), ["order_events", "order_lines", "raw_events"]);
    for (const table of tables) {
      assert.deepEqual(await violations(table.type, table.inputs), [], table.name);
    }
  });

  test("a table without projection, without partition keys, with a key not projected or without a template is refused", async () => {
    createPipeline(testConfig());
    await settle();
    const parquet = recorded.find((r) => r.type === TABLE && r.inputs.name === "order_lines")!.inputs;
    const { "projection.enabled": _enabled, ...withoutProjection } = parquet.parameters;
    assert.deepEqual(await violations(TABLE, { ...parquet, parameters: withoutProjection }), [
      "glue-table-partition-projection: projection.enabled must be true",
    ]);
    assert.deepEqual(await violations(TABLE, { ...parquet, parameters: { ...parquet.parameters, "projection.enabled": "false" } }), [
      "glue-table-partition-projection: projection.enabled must be true",
    ]);
    assert.deepEqual(await violations(TABLE, { ...parquet, partitionKeys: [] }), [
      "glue-table-partition-projection: the table must have partition keys for the projection",
    ]);
    assert.deepEqual(await violations(TABLE, { ...parquet, partitionKeys: [...parquet.partitionKeys, { name: "hour", type: "string" }] }), [
      "glue-table-partition-projection: partition key hour has no projection.hour.type",
    ]);
    const { "storage.location.template": _template, ...withoutTemplate } = parquet.parameters;
    assert.deepEqual(await violations(TABLE, { ...parquet, parameters: withoutTemplate }), [
      "glue-table-partition-projection: storage.location.template must be the s3:// location of a partition",
    ]);
  });
});

describe("every Lambda logs to a log group with a retention and has an Errors alarm", () => {
  const FN = "orders-order-tables";
  const RULE = "lambda-log-group-and-errors-alarm";

  test("each of the pipeline's six Lambdas, the order-tables one included, passes", async () => {
    createPipeline(testConfig());
    await settle();
    const functions = recorded.filter((r) => r.type === "aws:lambda/function:Function").map((f) => f.inputs.name);
    assert.equal(functions.length, 6);
    assert.ok(functions.includes(FN));
    const found: string[] = [];
    await lambdasLoggedAndAlarmed.validateStack(
      { resources: stackOf(recorded), stackTags: new Map(), getConfig: () => ({}) } as unknown as StackValidationArgs,
      (message: string) => found.push(message),
    );
    assert.deepEqual(found, []);
  });

  test("a Lambda without its Errors alarm is refused; an alarm on another metric or function does not count", async () => {
    createPipeline(testConfig());
    await settle();
    const isOwnErrors = (r: Recorded) => r.type === ALARM && r.inputs.metricName === "Errors" && r.inputs.dimensions?.FunctionName === FN;
    assert.equal(recorded.filter(isOwnErrors).length, 1);
    const refused = [`${RULE}: Lambda ${FN} has no alarm on its AWS/Lambda Errors metric`];
    assert.deepEqual(await stackViolations(recorded.filter((r) => !isOwnErrors(r))), refused);
    const onThrottles = recorded.map((r) => isOwnErrors(r) ? { ...r, state: { ...r.state, metricName: "Throttles" } } : r);
    assert.deepEqual(await stackViolations(onThrottles), refused);
    const onQuery = recorded.map((r) => isOwnErrors(r) ? { ...r, state: { ...r.state, dimensions: { FunctionName: "orders-query" } } } : r);
    assert.deepEqual(await stackViolations(onQuery), refused);
  });

  test("a Lambda whose log group is missing, or keeps logs forever, is refused", async () => {
    createPipeline(testConfig());
    await settle();
    const isOwnLogs = (r: Recorded) => r.type === "aws:cloudwatch/logGroup:LogGroup" && r.inputs.name === `/aws/lambda/${FN}`;
    assert.equal(recorded.filter(isOwnLogs).length, 1);
    assert.deepEqual(await stackViolations(recorded.filter((r) => !isOwnLogs(r))), [
      `${RULE}: Lambda ${FN} does not log to a log group of the stack`,
    ]);
    const forever = recorded.map((r) => isOwnLogs(r) ? { ...r, state: { ...r.state, retentionInDays: undefined } } : r);
    assert.deepEqual(await stackViolations(forever), [
      `${RULE}: Lambda ${FN} logs to /aws/lambda/${FN}, which has no retention`,
    ]);
  });
});
