// The consumers that run as standalone workers (`consumer <name>`) on ECS Fargate instead of as
// Lambdas (consumerHosts): one cluster and one egress-only security group for all of them, and
// per consumer a log group encrypted with the stack's key, a task role with the same data grants
// as its Lambda would have plus reading its enhanced fan-out consumer and its own items of the
// lease table, an execution role that may only pull the image and write that log group, a task
// definition and a service that never runs fewer tasks than asked for.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { ECR_IMAGE } from "./config";
import { Context, Grant, ownItemsOnly, serviceRole } from "./context";

/** Where a worker finds the lease table (ingest::config). */
export const LEASES_TABLE_VAR = "ORDERS_LEASES_TABLE_NAME";

/** The lease table's key, as the workers write it (processors::lease): one item per consumer and shard. */
export const LEASES_HASH_KEY = "consumer";
export const LEASES_RANGE_KEY = "shardId";

/**
 * Seconds ECS waits after SIGTERM before SIGKILL. On SIGTERM a worker finishes its batch,
 * checkpoints it and releases its leases, so that the other workers take its shards at once
 * instead of after the lease; a batch takes well under a second (docs/capacity.md).
 */
export const WORKER_STOP_TIMEOUT_SECONDS = 30;

/** The cluster every worker's service runs in: `<prefix>-consumers`. */
export const WORKER_CLUSTER = "consumers";

/** The container's name in each task definition. */
export const WORKER_CONTAINER = "consumer";

/** The ECS Container Insights setting of the cluster: off, as it bills custom metrics per task and service. */
export const CONTAINER_INSIGHTS = "disabled";

/** What every worker shares: the cluster its services run in, and the security group of its tasks. */
export interface WorkerPlatform {
  cluster: aws.ecs.Cluster;
  securityGroup: aws.ec2.SecurityGroup;
}

/** One consumer's workers. */
export interface Worker {
  cluster: aws.ecs.Cluster;
  service: aws.ecs.Service;
  taskDefinition: aws.ecs.TaskDefinition;
  /** What the worker itself may do (its data grants, the stream, its leases). */
  taskRole: aws.iam.Role;
  /** What ECS may do to start it: pull the image, write the log group. */
  executionRole: aws.iam.Role;
  logGroup: aws.cloudwatch.LogGroup;
}

/** The argument `consumer <name>` takes: the consumer's name without `orders-`. */
export function workerName(consumer: string): string {
  return consumer.replace(/^orders-/, "");
}

/** The log group of a consumer's workers, named beside its Lambda's `/aws/lambda/<prefix>-<name>`. */
export function workerLogGroupName(ctx: Context, consumer: string): string {
  return `/ecs/${ctx.name(workerName(consumer))}`;
}

/**
 * The key policy statement that lets CloudWatch Logs use the stack's key for the workers' log
 * groups, and for no other log group (AWS, "Encrypt log data in CloudWatch Logs using AWS KMS").
 */
export function workerLogsKeyStatement(ctx: Context, consumers: string[]): Record<string, unknown> {
  return {
    Sid: "LogsEncryptTheWorkersLogGroups",
    Effect: "Allow",
    Principal: { Service: pulumi.interpolate`logs.${ctx.region}.amazonaws.com` },
    Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
    Resource: "*",
    Condition: {
      ArnEquals: {
        "kms:EncryptionContext:aws:logs:arn": consumers.map((consumer) =>
          pulumi.interpolate`arn:aws:logs:${ctx.region}:${ctx.accountId}:log-group:${workerLogGroupName(ctx, consumer)}`),
      },
    },
  };
}

/** The ECR repository an image of consumerImage comes from, as an ARN for the execution role. */
export function ecrRepositoryArn(image: string): string {
  const found = ECR_IMAGE.exec(image);
  if (found === null) throw new Error(`consumerImage '${image}' is not a private ECR image (validate() refuses it)`);
  const [, account, region, repository] = found;
  const partition = image.includes(".amazonaws.com.cn/") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
  return `arn:${partition}:ecr:${region}:${account}:repository/${repository}`;
}

/**
 * The ports the workers connect out to: 443 for AWS's APIs (Kinesis, DynamoDB, S3, and ECR and
 * CloudWatch Logs for ECS on the task's behalf), and the port of each service `endpoints` names.
 */
export function egressPorts(endpoints: string[]): number[] {
  const ports = new Set([443]);
  for (const endpoint of endpoints) ports.add(Number(new URL(endpoint).port || 443));
  return [...ports].sort((a, b) => a - b);
}

/**
 * The cluster and the security group every worker of the stack shares. The group lets nothing in
 * (a worker serves nothing) and lets out only HTTPS: to AWS's APIs, and to the services `endpoints`
 * names (the saga stages' on Fargate), on their ports.
 */
export function workerPlatform(ctx: Context, endpoints: string[]): WorkerPlatform {
  const cluster = new aws.ecs.Cluster(ctx.name(WORKER_CLUSTER), {
    name: ctx.name(WORKER_CLUSTER),
    settings: [{ name: "containerInsights", value: CONTAINER_INSIGHTS }],
    tags: ctx.tags,
  });
  // validate() requires at least one subnet once a consumer is on Fargate; they share one VPC.
  const vpcId = aws.ec2.getSubnetOutput({ id: ctx.config.fargateSubnetIds[0] }).vpcId;
  const securityGroup = new aws.ec2.SecurityGroup(ctx.name("consumer-workers"), {
    name: ctx.name("consumer-workers"),
    description: "Consumer workers on Fargate: nothing inbound, HTTPS out to AWS APIs and the saga services",
    vpcId,
    ingress: [],
    egress: egressPorts(endpoints).map((port) => ({
      description: port === 443 ? "HTTPS: AWS APIs, image pulls, logs, the services" : `a saga service on port ${port}`,
      protocol: "tcp",
      fromPort: port,
      toPort: port,
      cidrBlocks: ["0.0.0.0/0"],
      ipv6CidrBlocks: ["::/0"],
    })),
    tags: ctx.tags,
  });
  return { cluster, securityGroup };
}

export interface WorkerArgs {
  /** Its name in processors/lambda-event-sources.json (`orders-materialiser`, …). */
  consumer: string;
  efo: aws.kinesis.StreamConsumer;
  stream: aws.kinesis.Stream;
  leasesTable: aws.dynamodb.Table;
  /** The stack's key: the log group is encrypted with it. */
  key: aws.kms.Key;
  platform: WorkerPlatform;
  /** What it does with the pipeline's data: exactly what its Lambda would be granted for that. */
  grants: Grant[];
  /** Its Lambda's environment; the lease table's name and the region are added. */
  environment: Record<string, pulumi.Input<string>>;
}

/** One consumer's workers: `fargateWorkers` tasks of `consumer <name>` sharing its shards. */
export function createWorker(ctx: Context, args: WorkerArgs): Worker {
  const { config } = ctx;
  const { consumer, efo, stream, leasesTable, platform } = args;
  const name = workerName(consumer);
  if (config.consumerImage === undefined) throw new Error(`consumer ${consumer} is on Fargate without consumerImage (validate() requires it)`);

  // Encrypted with the stack's key (the key lets CloudWatch Logs use it for these groups only),
  // kept as long as the Lambdas' logs.
  const logGroup = new aws.cloudwatch.LogGroup(`${ctx.name(name)}-worker-logs`, {
    name: workerLogGroupName(ctx, consumer),
    retentionInDays: config.logRetentionDays,
    kmsKeyId: args.key.arn,
    tags: ctx.tags,
  });

  // Named apart from the Lambda's role, so that moving a consumer between hosts creates the one
  // before it deletes the other without a clash of names.
  const { role: taskRole, policy: taskPolicy } = serviceRole(ctx, `${name}-task`, "ecs-tasks.amazonaws.com", [
    // Its enhanced fan-out consumer: found by name (DescribeStreamSummary, then
    // DescribeStreamConsumer), then read shard by shard. No GetRecords: it reads nothing by polling.
    { actions: ["kinesis:SubscribeToShard", "kinesis:DescribeStreamConsumer"], resources: [efo.arn] },
    { actions: ["kinesis:DescribeStreamSummary", "kinesis:ListShards"], resources: [stream.arn] },
    // Its own shards' leases and checkpoints, and no other consumer's.
    {
      actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
      resources: [leasesTable.arn],
      condition: ownItemsOnly(consumer),
    },
    ...args.grants,
  ]);
  const { role: executionRole, policy: executionPolicy } = serviceRole(ctx, `${name}-execution`, "ecs-tasks.amazonaws.com", [
    // ECR's sign-in has no resource to scope to; what it lets through is the repository grant below.
    { actions: ["ecr:GetAuthorizationToken"], resources: ["*"] },
    {
      actions: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
      resources: [ecrRepositoryArn(config.consumerImage)],
    },
    { actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [pulumi.interpolate`${logGroup.arn}:*`] },
  ]);

  // CONSUMER_WORKER_ID stays unset: it defaults to the host name, process id and a random suffix,
  // unique per task. CONSUMER_LEASE_MS stays at the worker's default (10 s).
  const environment: Record<string, pulumi.Input<string>> = {
    ...args.environment,
    [LEASES_TABLE_VAR]: leasesTable.name,
    AWS_REGION: ctx.region,
  };
  const taskDefinition = new aws.ecs.TaskDefinition(ctx.name(name), {
    family: ctx.name(name),
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu: String(config.fargateCpu),
    memory: String(config.fargateMemory),
    runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: config.fargateArchitecture },
    taskRoleArn: taskRole.arn,
    executionRoleArn: executionRole.arn,
    containerDefinitions: pulumi.jsonStringify([{
      name: WORKER_CONTAINER,
      image: config.consumerImage,
      // The image's entrypoint is the `consumer` binary.
      command: [name],
      essential: true,
      stopTimeout: WORKER_STOP_TIMEOUT_SECONDS,
      // It writes nothing but its logs, to stdout.
      readonlyRootFilesystem: true,
      environment: pulumi.output(environment).apply((variables) =>
        Object.entries(variables).sort(([a], [b]) => a.localeCompare(b)).map(([variable, value]) => ({ name: variable, value }))),
      logConfiguration: {
        logDriver: "awslogs",
        options: {
          "awslogs-group": logGroup.name,
          "awslogs-region": ctx.region,
          "awslogs-stream-prefix": WORKER_CONTAINER,
          // Blocking: a dropped line could be a DeadLettered metric (EMF) that an alarm waits for.
          mode: "blocking",
        },
      },
    }]),
    tags: ctx.tags,
  });

  const service = new aws.ecs.Service(ctx.name(name), {
    name: ctx.name(name),
    cluster: platform.cluster.arn,
    taskDefinition: taskDefinition.arn,
    desiredCount: config.fargateWorkers,
    launchType: "FARGATE",
    platformVersion: "LATEST",
    networkConfiguration: {
      subnets: config.fargateSubnetIds,
      securityGroups: [platform.securityGroup.id],
      assignPublicIp: config.fargateAssignPublicIp,
    },
    // A deployment starts the new tasks before it stops the old ones (which release their leases
    // on SIGTERM), so the consumer is never without a worker; one whose tasks do not start is
    // rolled back to the previous task definition.
    deploymentMinimumHealthyPercent: 100,
    deploymentMaximumPercent: 200,
    deploymentCircuitBreaker: { enable: true, rollback: true },
    propagateTags: "SERVICE",
    enableEcsManagedTags: true,
    tags: ctx.tags,
  }, { dependsOn: [taskPolicy, executionPolicy] });

  return { cluster: platform.cluster, service, taskDefinition, taskRole, executionRole, logGroup };
}
