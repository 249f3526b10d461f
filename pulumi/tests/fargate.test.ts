// Consumers on Fargate (consumerHosts): none by default; a consumer switched over gets an ECS
// service of standalone workers instead of its Lambda and mapping, a task role with exactly its
// Lambda's data grants plus its enhanced fan-out reads and its own leases, an encrypted log group,
// and alarms that fit a worker; the others keep their Lambdas.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeEach, describe, test } from "node:test";

import { ACCOUNT, REGION, SERVICE_URLS, VPC, ofType, one, recorded, setStackConfig, settle, testConfig, value } from "./mocks";
import { CONSUMER_HOSTS, ConsumerHost, PipelineConfig, load, validate } from "../src/config";
import { FargateConsumer, eventSources, fargateConsumers, lambdaConsumers } from "../src/consumers";
import { LEASES_TABLE_VAR, WORKER_STOP_TIMEOUT_SECONDS, ecrRepositoryArn, egressPorts } from "../src/fargate";
import { EFO_BEHIND_METRIC } from "../src/monitoring";
import { Pipeline, createPipeline } from "../src/pipeline";

beforeEach(() => {
  recorded.length = 0;
});

const IMAGE = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/orders-consumer:0e9f43f`;
const SUBNETS = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"];
const CONSUMERS = Object.keys(eventSources());

/** Settings that put `consumers` on Fargate; the rest stay on Lambda. */
function onFargate(...consumers: string[]): Partial<PipelineConfig> {
  return {
    consumerHosts: Object.fromEntries(consumers.map((c) => [c, "fargate" as ConsumerHost])),
    consumerImage: IMAGE,
    fargateSubnetIds: SUBNETS,
  };
}

async function build(overrides: Partial<PipelineConfig> = {}): Promise<Pipeline> {
  const pipeline = createPipeline(validate(testConfig(overrides)));
  await settle();
  return pipeline;
}

interface Statement {
  Effect: string;
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

/** Every role's inline policy statements, by role name. */
function rolePolicies(): Map<string, Statement[]> {
  return new Map(ofType("aws:iam/rolePolicy:RolePolicy").map((p) => [p.inputs.role, JSON.parse(p.inputs.policy).Statement]));
}

function ownItems(consumer: string) {
  return { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [consumer] } };
}

const ECS_TYPES = [
  "aws:ecs/cluster:Cluster", "aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition", "aws:ec2/securityGroup:SecurityGroup",
];
const TABLE = "aws:dynamodb/table:Table";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";

function worker(pipeline: Pipeline, name: string): FargateConsumer {
  const found = fargateConsumers(pipeline.consumers).find((c) => c.name === name);
  assert.ok(found, `${name} is not on Fargate`);
  return found;
}

describe("by default", () => {
  test("every consumer is a Lambda: no ECS resources, no lease table, no key grant to CloudWatch Logs", async () => {
    const pipeline = await build();
    assert.deepEqual(pipeline.consumers.map((c) => c.host), CONSUMERS.map(() => "lambda"));
    for (const type of ECS_TYPES) assert.deepEqual(ofType(type), [], type);
    assert.equal(pipeline.leasesTable, undefined);
    assert.ok(!ofType(TABLE).some((t) => t.inputs.name === "orders-leases"));
    const key = JSON.parse(one("aws:kms/key:Key", "orders-key").inputs.policy);
    assert.ok(!JSON.stringify(key).includes("logs."));
    // The image and subnets are needed only with a consumer on Fargate.
    assert.doesNotThrow(() => validate(testConfig({ consumerHosts: { "orders-materialiser": "lambda" } })));
  });
});

describe("a consumer on Fargate", () => {
  test("has a service and no Lambda or mapping; the others keep theirs, and every enhanced fan-out consumer stays", async () => {
    const pipeline = await build(onFargate("orders-materialiser"));
    assert.deepEqual(fargateConsumers(pipeline.consumers).map((c) => c.name), ["orders-materialiser"]);
    assert.deepEqual(lambdaConsumers(pipeline.consumers).map((c) => c.name), ["orders-inventory", "orders-fulfilment", "orders-accounting"]);
    // Sorted: the mocks record resources in the order their inputs resolve, which is not fixed.
    assert.deepEqual(ofType("aws:kinesis/streamConsumer:StreamConsumer").map((c) => c.inputs.name).sort(), [...CONSUMERS].sort());
    assert.deepEqual(ofType("aws:lambda/eventSourceMapping:EventSourceMapping").map((m) => m.name).sort(),
      ["orders-accounting", "orders-fulfilment", "orders-inventory"]);
    const functions = ofType("aws:lambda/function:Function").map((f) => f.inputs.name);
    assert.ok(!functions.includes("orders-materialiser"));
    for (const name of ["orders-inventory", "orders-fulfilment", "orders-accounting", "orders-query", "orders-order-tables"]) {
      assert.ok(functions.includes(name), name);
    }
    assert.deepEqual(ofType("aws:ecs/service:Service").map((s) => s.inputs.name), ["orders-materialiser"]);
    assert.deepEqual(ofType("aws:ecs/cluster:Cluster").map((c) => c.inputs.name), ["orders-consumers"]);
  });

  test("its service runs fargateWorkers tasks, never fewer than asked for during a deployment, rolled back if they do not start", async () => {
    const pipeline = await build({ ...onFargate("orders-materialiser"), fargateWorkers: 3 });
    const { service, cluster, taskDefinition } = worker(pipeline, "orders-materialiser").worker;
    const task = await value(taskDefinition.arn);
    const inputs = one("aws:ecs/service:Service", "orders-materialiser").inputs;
    assert.equal(inputs.name, await value(service.name));
    assert.equal(inputs.cluster, await value(cluster.arn));
    assert.equal(inputs.taskDefinition, task);
    assert.equal(inputs.desiredCount, 3);
    assert.equal(inputs.launchType, "FARGATE");
    assert.equal(inputs.deploymentMinimumHealthyPercent, 100);
    assert.equal(inputs.deploymentMaximumPercent, 200);
    assert.deepEqual(inputs.deploymentCircuitBreaker, { enable: true, rollback: true });
    // The mocks give each resource the id `<name>-id`.
    assert.deepEqual(inputs.networkConfiguration, { subnets: SUBNETS, securityGroups: ["orders-consumer-workers-id"], assignPublicIp: false });
    assert.equal(one("aws:ecs/cluster:Cluster", "orders-consumers").inputs.settings[0].value, "disabled");
  });

  test("its task runs `consumer <name>` from the image, with its Lambda's environment, the lease table and the region, and logs to its encrypted group", async () => {
    const lambdaStack = await build();
    const lambdaVariables = one("aws:lambda/function:Function", "orders-materialiser").inputs.environment.variables;
    recorded.length = 0;
    const pipeline = await build(onFargate("orders-materialiser"));
    const { taskRole, executionRole, logGroup } = worker(pipeline, "orders-materialiser").worker;
    assert.equal(await value(lambdaStack.ordersTable.name), await value(pipeline.ordersTable.name));
    const task = one("aws:ecs/taskDefinition:TaskDefinition", "orders-materialiser").inputs;
    assert.equal(task.family, "orders-materialiser");
    assert.deepEqual(task.requiresCompatibilities, ["FARGATE"]);
    assert.equal(task.networkMode, "awsvpc");
    assert.equal(task.cpu, "256");
    assert.equal(task.memory, "512");
    assert.deepEqual(task.runtimePlatform, { operatingSystemFamily: "LINUX", cpuArchitecture: "ARM64" });
    assert.equal(task.taskRoleArn, await value(taskRole.arn));
    assert.equal(task.executionRoleArn, await value(executionRole.arn));
    const [container, ...others] = JSON.parse(task.containerDefinitions);
    assert.deepEqual(others, []);
    assert.equal(container.image, IMAGE);
    assert.deepEqual(container.command, ["materialiser"]);
    assert.equal(container.essential, true);
    assert.equal(container.stopTimeout, WORKER_STOP_TIMEOUT_SECONDS);
    assert.equal(container.readonlyRootFilesystem, true);
    const variables = Object.fromEntries(container.environment.map((v: { name: string; value: string }) => [v.name, v.value]));
    assert.deepEqual(variables, {
      ...lambdaVariables,
      [LEASES_TABLE_VAR]: "orders-leases",
      AWS_REGION: REGION,
    });
    // Each task's worker id defaults to its own host name and process id.
    assert.ok(!("CONSUMER_WORKER_ID" in variables));
    assert.deepEqual(container.logConfiguration, {
      logDriver: "awslogs",
      options: { "awslogs-group": "/ecs/orders-materialiser", "awslogs-region": REGION, "awslogs-stream-prefix": "consumer", mode: "blocking" },
    });
    const group = one("aws:cloudwatch/logGroup:LogGroup", "orders-materialiser-worker-logs").inputs;
    assert.equal(group.name, await value(logGroup.name));
    assert.equal(group.retentionInDays, 30);
    assert.equal(group.kmsKeyId, await value(pipeline.key.arn));
  });

  test("the stack's key lets CloudWatch Logs encrypt exactly the workers' log groups", async () => {
    await build(onFargate("orders-materialiser", "orders-accounting"));
    const statements = JSON.parse(one("aws:kms/key:Key", "orders-key").inputs.policy).Statement;
    const logs = statements.filter((s: { Principal: { Service?: string } }) => s.Principal.Service === `logs.${REGION}.amazonaws.com`);
    assert.equal(logs.length, 1);
    assert.deepEqual(logs[0].Condition, {
      ArnEquals: {
        "kms:EncryptionContext:aws:logs:arn": ["materialiser", "accounting"].map((n) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/ecs/orders-${n}`),
      },
    });
    // No other log group is encrypted with it: the Lambdas' are not encrypted at all.
    const encrypted = ofType("aws:cloudwatch/logGroup:LogGroup").filter((g) => g.inputs.kmsKeyId !== undefined).map((g) => g.inputs.name);
    assert.deepEqual(encrypted.sort(), ["/ecs/orders-accounting", "/ecs/orders-materialiser"]);
  });

  test("its task role reads its enhanced fan-out consumer and its own leases, with its Lambda's data grants and nothing else", async () => {
    const pipeline = await build(onFargate("orders-materialiser"));
    const statements = rolePolicies().get("orders-materialiser-task");
    const efo = await value(worker(pipeline, "orders-materialiser").efo.arn);
    const leases = await value(pipeline.leasesTable!.arn);
    const deadLetters = await value(pipeline.deadLetters.arn);
    assert.deepEqual(statements, [
      { Effect: "Allow", Action: ["kinesis:SubscribeToShard", "kinesis:DescribeStreamConsumer"], Resource: [efo] },
      { Effect: "Allow", Action: ["kinesis:DescribeStreamSummary", "kinesis:ListShards"], Resource: [await value(pipeline.stream.arn)] },
      {
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
        Resource: [leases],
        Condition: ownItems("orders-materialiser"),
      },
      { Effect: "Allow", Action: ["dynamodb:UpdateItem"], Resource: [await value(pipeline.failuresTable.arn)], Condition: ownItems("orders-materialiser") },
      { Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${deadLetters}/*`] },
      { Effect: "Allow", Action: ["s3:ListBucket"], Resource: [deadLetters] },
      { Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [await value(pipeline.key.arn)] },
      { Effect: "Allow", Action: ["dynamodb:PutItem", "dynamodb:UpdateItem"], Resource: [await value(pipeline.ordersTable.arn)] },
    ]);
    // No other role reaches the lease table.
    for (const [role, found] of rolePolicies()) {
      if (role !== "orders-materialiser-task") assert.ok(!found.some((s) => s.Resource.includes(leases)), role);
    }
  });

  test("each saga stage's task role has exactly the data grants its Lambda's role has, whatever downstreamAuth is", async () => {
    const onlyData = (statements: Statement[]) => statements.filter((s) =>
      !s.Action.some((a) => /^(kinesis:(Subscribe|Describe|Get|List)|logs:|xray:)/.test(a)) && !s.Resource.some((r) => r.includes("orders-leases")));
    const modes: Partial<PipelineConfig>[] = [{}, { downstreamAuth: "iam", downstreamInvokeArns: [`arn:aws:execute-api:${REGION}:${ACCOUNT}:a1b2c3d4e5/prod/*`] }];
    for (const auth of modes) {
      recorded.length = 0;
      await build(auth);
      const lambdaRoles = rolePolicies();
      recorded.length = 0;
      await build({ ...auth, ...onFargate("orders-inventory", "orders-fulfilment", "orders-accounting") });
      const workerRoles = rolePolicies();
      for (const stage of ["inventory", "fulfilment", "accounting"]) {
        const lambda = onlyData(lambdaRoles.get(`orders-${stage}`)!);
        assert.ok(lambda.some((s) => s.Action.includes("kinesis:PutRecords")), stage);
        assert.deepEqual(onlyData(workerRoles.get(`orders-${stage}-task`)!), lambda, stage);
        assert.ok(!workerRoles.has(`orders-${stage}`), `no Lambda role for ${stage}`);
      }
    }
  });

  test("its execution role may only pull from the image's repository and write its log group; both roles trust ECS tasks only", async () => {
    const pipeline = await build(onFargate("orders-materialiser"));
    const logGroup = await value(worker(pipeline, "orders-materialiser").worker.logGroup.arn);
    assert.deepEqual(rolePolicies().get("orders-materialiser-execution"), [
      { Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
      {
        Effect: "Allow",
        Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        Resource: [`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/orders-consumer`],
      },
      { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${logGroup}:*`] },
    ]);
    for (const name of ["orders-materialiser-task", "orders-materialiser-execution"]) {
      const role = ofType("aws:iam/role:Role").find((r) => r.inputs.name === name)!;
      assert.deepEqual(JSON.parse(role.inputs.assumeRolePolicy).Statement, [
        { Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" },
      ], name);
    }
  });

  test("its tasks' security group lets nothing in and only HTTPS out, plus the port of a saga service on Fargate that names one", async () => {
    await build({ ...onFargate("orders-materialiser"), inventoryUrl: "https://inventory.example.com:8443" });
    let group = one("aws:ec2/securityGroup:SecurityGroup", "orders-consumer-workers").inputs;
    assert.equal(group.vpcId, VPC);
    assert.deepEqual(group.ingress, []);
    assert.deepEqual(group.egress.map((e: { protocol: string; fromPort: number; toPort: number }) => [e.protocol, e.fromPort, e.toPort]), [["tcp", 443, 443]]);
    recorded.length = 0;
    await build({ ...onFargate("orders-inventory"), inventoryUrl: "https://inventory.example.com:8443" });
    group = one("aws:ec2/securityGroup:SecurityGroup", "orders-consumer-workers").inputs;
    assert.deepEqual(group.egress.map((e: { fromPort: number }) => e.fromPort), [443, 8443]);
    assert.deepEqual(egressPorts(["https://a.example.com", "https://b.example.com:443", "https://c.example.com:9443"]), [443, 9443]);
  });

  test("the lease table exists, on demand with point-in-time recovery and the stack's key, protected on production stacks", async () => {
    for (const production of [false, true]) {
      recorded.length = 0;
      const pipeline = await build({ ...onFargate("orders-fulfilment"), production });
      const table = one(TABLE, "orders-leases-table").inputs;
      assert.equal(table.name, "orders-leases");
      assert.equal(table.name, await value(pipeline.leasesTable!.name));
      assert.equal(table.billingMode, "PAY_PER_REQUEST");
      assert.equal(table.hashKey, "consumer");
      assert.equal(table.rangeKey, "shardId");
      assert.deepEqual(table.attributes, [{ name: "consumer", type: "S" }, { name: "shardId", type: "S" }]);
      assert.deepEqual(table.pointInTimeRecovery, { enabled: true });
      assert.deepEqual(table.serverSideEncryption, { enabled: true, kmsKeyArn: await value(pipeline.key.arn) });
      assert.equal(table.deletionProtectionEnabled, production);
    }
  });

  test("its alarms: behind (its enhanced fan-out consumer's MillisBehindLatest), dead letters, and no worker running; no Lambda alarms", async () => {
    const pipeline = await build(onFargate("orders-materialiser"));
    const alarms = new Map(ofType(ALARM).map((a) => [a.inputs.name, a.inputs]));
    const behind = alarms.get("orders-orders-materialiser-behind")!;
    assert.equal(behind.namespace, EFO_BEHIND_METRIC.namespace);
    assert.equal(behind.metricName, "SubscribeToShardEvent.MillisBehindLatest");
    assert.deepEqual(behind.dimensions, { StreamName: await value(pipeline.stream.name), ConsumerName: "orders-materialiser" });
    assert.equal(behind.threshold, 60_000);
    assert.equal(behind.statistic, "Maximum");
    assert.match(behind.alarmDescription, /Runbook: docs\/runbooks\/consumer-behind\.md$/);
    const deadLetters = alarms.get("orders-orders-materialiser-dead-letters")!;
    assert.deepEqual([deadLetters.namespace, deadLetters.metricName, deadLetters.dimensions], ["OrdersPipeline", "DeadLettered", { Consumer: "orders-materialiser" }]);
    const workers = alarms.get("orders-orders-materialiser-workers")!;
    assert.deepEqual([workers.namespace, workers.metricName, workers.statistic], ["AWS/ECS", "CPUUtilization", "SampleCount"]);
    assert.deepEqual(workers.dimensions, { ClusterName: "orders-consumers", ServiceName: "orders-materialiser" });
    // No data point is no task running: that is what it alarms on.
    assert.deepEqual([workers.comparisonOperator, workers.threshold, workers.treatMissingData], ["LessThanThreshold", 1, "breaching"]);
    assert.ok(!alarms.has("orders-orders-materialiser-errors"));
    assert.ok(!alarms.has("orders-orders-materialiser-throttles"));
    assert.ok(![...alarms.values()].some((a) => a.metricName === "IteratorAge" && JSON.stringify(a.dimensions).includes("materialiser")));
    // The other consumers keep their four; the materialiser has three.
    assert.equal(alarms.size, 22 - 4 + 3);
    assert.ok(alarms.has("orders-orders-inventory-errors"));
  });

  test("with every consumer on Fargate: one cluster, four services, no consumer Lambda, and a dashboard with no Lambda consumer widget", async () => {
    const pipeline = await build(onFargate(...CONSUMERS));
    assert.equal(ofType("aws:ecs/cluster:Cluster").length, 1);
    assert.equal(ofType("aws:ec2/securityGroup:SecurityGroup").length, 1);
    // Sorted: the mocks record resources in the order their inputs resolve, which is not fixed.
    assert.deepEqual(ofType("aws:ecs/service:Service").map((s) => s.inputs.name).sort(),
      ["orders-accounting", "orders-fulfilment", "orders-inventory", "orders-materialiser"]);
    assert.deepEqual(ofType("aws:lambda/function:Function").map((f) => f.inputs.name).sort(), ["orders-order-tables", "orders-query"]);
    assert.deepEqual(ofType("aws:lambda/eventSourceMapping:EventSourceMapping"), []);
    assert.equal(ofType(ALARM).length, 22 - 4 * 4 + 3 * 4);
    const body = JSON.parse(ofType("aws:cloudwatch/dashboard:Dashboard")[0].inputs.dashboardBody);
    const titles = body.widgets.map((w: { properties: { title: string } }) => w.properties.title);
    assert.ok(!titles.includes("Consumer errors and throttles"));
    const behind = body.widgets.find((w: { properties: { title: string } }) => w.properties.title === "Consumers behind the stream (ms)");
    assert.deepEqual(behind.properties.metrics.map((m: string[]) => m.slice(0, 6)), CONSUMERS.map((c) =>
      ["AWS/Kinesis", "SubscribeToShardEvent.MillisBehindLatest", "StreamName", "orders", "ConsumerName", c]));
    assert.ok(JSON.stringify(body).includes("MemoryUtilization"));
    assert.equal(pipeline.consumers.length, 4);
  });

  test("its resources carry the stack's tags, and its service passes them on to its tasks", async () => {
    await build({ ...onFargate("orders-materialiser"), tags: { team: "platform" } });
    for (const type of [...ECS_TYPES, "aws:cloudwatch/logGroup:LogGroup", TABLE, "aws:iam/role:Role"]) {
      assert.ok(ofType(type).length > 0, type);
      for (const r of ofType(type)) assert.equal(r.inputs.tags?.team, "platform", `${type} ${r.name}`);
    }
    assert.equal(one("aws:ecs/service:Service", "orders-materialiser").inputs.propagateTags, "SERVICE");
  });

  test("needs no Lambda package for itself", async () => {
    const config = testConfig(onFargate("orders-materialiser"));
    fs.rmSync(path.join(config.lambdaPackageDir, "materialiser-lambda"), { recursive: true });
    assert.doesNotThrow(() => createPipeline(validate(config)));
    await settle();
    recorded.length = 0;
    assert.throws(() => createPipeline(validate({ ...config, consumerHosts: {} })), /materialiser-lambda\/bootstrap\.zip does not exist/);
    await settle();
  });

  test("its image's repository ARN comes from the image URI, tag or digest", () => {
    assert.equal(ecrRepositoryArn(IMAGE), `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/orders-consumer`);
    assert.equal(ecrRepositoryArn(`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/team/orders-consumer@sha256:${"a".repeat(64)}`),
      `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/team/orders-consumer`);
    assert.equal(ecrRepositoryArn(`${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/orders-consumer:v1`),
      `arn:aws-cn:ecr:cn-north-1:${ACCOUNT}:repository/orders-consumer`);
  });
});

describe("configuration", () => {
  /** The problems validate() lists for `overrides`, one per line. */
  function problems(overrides: Record<string, unknown>): string[] {
    try {
      validate(testConfig(overrides as Partial<PipelineConfig>));
      return [];
    } catch (error) {
      return (error as Error).message.split("\n- ").slice(1);
    }
  }

  test("consumerHosts names only published consumers, each on lambda or fargate", () => {
    assert.deepEqual(CONSUMER_HOSTS, ["lambda", "fargate"]);
    assert.deepEqual(problems({ ...onFargate(), consumerHosts: { "orders-shipping": "fargate", materialiser: "fargate", "orders-inventory": "ecs" } }), [
      "consumerHosts names orders-shipping, which lambda-event-sources.json does not list " +
        "(it lists orders-materialiser, orders-inventory, orders-fulfilment, orders-accounting)",
      "consumerHosts names materialiser, which lambda-event-sources.json does not list " +
        "(it lists orders-materialiser, orders-inventory, orders-fulfilment, orders-accounting)",
      "consumerHosts orders-inventory 'ecs' must be lambda or fargate",
    ]);
    assert.match(problems({ consumerHosts: "fargate" })[0], /^consumerHosts must map consumer names to lambda or fargate \(pulumi config set --path/);
    assert.match(problems({ consumerHosts: ["orders-materialiser"] })[0], /^consumerHosts must map consumer names/);
  });

  test("a consumer on Fargate needs the image and the subnets", () => {
    assert.deepEqual(problems({ consumerHosts: { "orders-inventory": "fargate" } }), [
      "consumerImage is required when a consumer runs on Fargate (orders-inventory): the workers' image in ECR " +
        "(pulumi config set consumerImage <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>; docs/deploy.md, Consumers on Fargate)",
      "fargateSubnetIds is required when a consumer runs on Fargate: the subnets its tasks run in, one or more of one VPC " +
        "(pulumi config set --path 'fargateSubnetIds[0]' subnet-…)",
    ]);
  });

  test("the image must be a private ECR image pinned by a tag other than latest, or a digest", () => {
    for (const image of ["nginx:1.27", "public.ecr.aws/orders/consumer:v1", `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/orders-consumer`, "", 42]) {
      assert.match(problems({ ...onFargate("orders-materialiser"), consumerImage: image })[0] ?? "",
        /^consumerImage .* must be a private ECR image with a tag or digest/, String(image));
    }
    assert.match(problems({ ...onFargate("orders-materialiser"), consumerImage: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/orders-consumer:latest` })[0],
      /tag each build .* instead of 'latest'/);
    assert.deepEqual(problems({ ...onFargate("orders-materialiser"), consumerImage: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/o/c@sha256:${"0".repeat(64)}` }), []);
  });

  test("workers, size, architecture, subnets and the public IP switch are checked, set or not, with every problem listed", () => {
    assert.deepEqual(problems({
      fargateWorkers: 0, fargateCpu: 300, fargateArchitecture: "arm64", fargateAssignPublicIp: "yes", fargateSubnetIds: ["subnet-1", "sg-0123456789abcdef0"],
    }), [
      "fargateWorkers 0 must be a whole number of tasks from 1 to 100",
      "fargateCpu 300 must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 (CPU units, 1024 a vCPU)",
      "fargateArchitecture 'arm64' must be ARM64 or X86_64",
      "fargateAssignPublicIp 'yes' must be true or false",
      "fargateSubnetIds 'subnet-1' is not a subnet id (subnet-0123456789abcdef0)",
      "fargateSubnetIds 'sg-0123456789abcdef0' is not a subnet id (subnet-0123456789abcdef0)",
    ]);
    assert.deepEqual(problems({ fargateWorkers: 101 }), ["fargateWorkers 101 must be a whole number of tasks from 1 to 100"]);
    assert.deepEqual(problems({ fargateWorkers: 1.5 }), ["fargateWorkers 1.5 must be a whole number of tasks from 1 to 100"]);
    assert.deepEqual(problems({ fargateCpu: 256, fargateMemory: 1536 }), ["fargateMemory 1536 does not fit fargateCpu 256: Fargate takes 512, 1024, 2048 MiB with it"]);
    assert.deepEqual(problems({ fargateCpu: 1024, fargateMemory: 1024 }), ["fargateMemory 1024 does not fit fargateCpu 1024: Fargate takes 2048 to 8192 in steps of 1024 MiB with it"]);
    assert.deepEqual(problems({ fargateSubnetIds: "subnet-0aaaaaaaaaaaaaaaa" }), [
      "fargateSubnetIds must be a list of subnet ids (pulumi config set --path 'fargateSubnetIds[0]' subnet-…), not 'subnet-0aaaaaaaaaaaaaaaa'",
    ]);
    for (const [cpu, memory] of [[256, 512], [256, 2048], [512, 4096], [4096, 30720], [8192, 20480], [16384, 122880]]) {
      assert.deepEqual(problems({ fargateCpu: cpu, fargateMemory: memory }), [], `${cpu}/${memory}`);
    }
  });

  test("load() reads them from the stack's config as `pulumi config set --path` stores them", () => {
    try {
      setStackConfig({
        ...SERVICE_URLS,
        consumerHosts: JSON.stringify({ "orders-inventory": "fargate", "orders-materialiser": "lambda" }),
        consumerImage: IMAGE,
        fargateSubnetIds: JSON.stringify(SUBNETS),
        fargateWorkers: "3",
        fargateCpu: "512",
        fargateMemory: "1024",
        fargateArchitecture: "X86_64",
        fargateAssignPublicIp: "true",
      });
      const config = load();
      assert.deepEqual(config.consumerHosts, { "orders-inventory": "fargate", "orders-materialiser": "lambda" });
      assert.equal(config.consumerImage, IMAGE);
      assert.deepEqual(config.fargateSubnetIds, SUBNETS);
      assert.deepEqual([config.fargateWorkers, config.fargateCpu, config.fargateMemory], [3, 512, 1024]);
      assert.equal(config.fargateArchitecture, "X86_64");
      assert.equal(config.fargateAssignPublicIp, true);
      setStackConfig(SERVICE_URLS);
      const defaults = load();
      assert.deepEqual(defaults.consumerHosts, {});
      assert.deepEqual([defaults.fargateWorkers, defaults.fargateCpu, defaults.fargateMemory, defaults.fargateArchitecture], [2, 256, 512, "ARM64"]);
      assert.deepEqual([defaults.consumerImage, defaults.fargateSubnetIds, defaults.fargateAssignPublicIp], [undefined, [], false]);
      setStackConfig({ ...SERVICE_URLS, consumerHosts: "fargate", fargateWorkers: "two", fargateSubnetIds: "subnet-0aaaaaaaaaaaaaaaa" });
      assert.throws(() => load(), (error: Error) =>
        error.message.includes("consumerHosts must map consumer names to lambda or fargate") &&
        error.message.includes("fargateWorkers 'two' must be a whole number of tasks from 1 to 100") &&
        error.message.includes("fargateSubnetIds must be a list of subnet ids"));
    } finally {
      setStackConfig(SERVICE_URLS);
    }
  });
});
