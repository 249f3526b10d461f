// Stack configuration: every setting with its default, validated before anything is built.
// Set with `pulumi config set <key> <value>`; docs/deploy.md lists them all.
import * as path from "node:path";

import * as pulumi from "@pulumi/pulumi";

import { EVENT_SOURCES_FILE, eventSources } from "./sources";

export type StreamMode = "ON_DEMAND" | "PROVISIONED";
export type Architecture = "arm64" | "x86_64";

/**
 * How the saga stages authenticate their calls to the downstream services (the host reads it
 * as DOWNSTREAM_AUTH): not at all; SigV4 for execute-api with the stage's own role; or an
 * `x-api-key` header read once at start from an SSM SecureString.
 */
export const DOWNSTREAM_AUTH_MODES = ["none", "iam", "api-key"] as const;
export type DownstreamAuth = (typeof DOWNSTREAM_AUTH_MODES)[number];

/**
 * How the orders and idempotency tables are billed: on-demand, per request (the default: nothing
 * to plan), or provisioned capacity with auto scaling between a minimum and a maximum, cheaper
 * per write when the capacity is well used (src/capacity.ts).
 */
export const DYNAMODB_CAPACITY_MODES = ["on-demand", "provisioned"] as const;
export type DynamoDbCapacityMode = (typeof DYNAMODB_CAPACITY_MODES)[number];

/**
 * The capacity settings of `dynamodbCapacity provisioned`, in capacity units, with their defaults;
 * each is refused with `on-demand`. The orders table's index takes its capacity from the orders
 * pairs (src/capacity.ts); nothing reads the idempotency table, which has no read setting.
 */
export const CAPACITY_DEFAULTS = {
  /** Minimum write capacity of the orders table: about 2.5 orders a second at 4 writes an order. */
  ordersWriteCapacity: 10,
  ordersMaxWriteCapacity: 4000,
  /** Minimum write capacity of the idempotency table: the same 2.5 orders a second at 6 writes an order. */
  idempotencyWriteCapacity: 15,
  idempotencyMaxWriteCapacity: 6000,
  /** Read capacity of the orders table, and of its index alike: reads come from GET /orders* only. */
  ordersReadCapacity: 5,
  ordersMaxReadCapacity: 1000,
} as const;
export type CapacityKey = keyof typeof CAPACITY_DEFAULTS;
/** The Fargate settings that are numbers, read like the capacity settings. */
type FargateSizeKey = "fargateWorkers" | "fargateCpu" | "fargateMemory";
export const CAPACITY_KEYS = Object.keys(CAPACITY_DEFAULTS) as CapacityKey[];
/** Each minimum with its maximum. */
export const CAPACITY_PAIRS: [CapacityKey, CapacityKey][] = [
  ["ordersWriteCapacity", "ordersMaxWriteCapacity"],
  ["idempotencyWriteCapacity", "idempotencyMaxWriteCapacity"],
  ["ordersReadCapacity", "ordersMaxReadCapacity"],
];

/**
 * Pre-warming for a sale (DynamoDB warm throughput): the write units per second the orders table and
 * the idempotency table can take at once, in either capacity mode; each unset by default (DynamoDB's
 * own). The orders table's index is pre-warmed from the orders setting (src/capacity.ts).
 */
export const WARM_THROUGHPUT_KEYS = ["ordersWarmWriteUnits", "idempotencyWarmWriteUnits"] as const;
export type WarmThroughputKey = (typeof WARM_THROUGHPUT_KEYS)[number];
/** The least warm write throughput the AWS provider documents for a table or index, and a new on-demand table's own. */
export const MIN_WARM_WRITE_UNITS = 4000;

/**
 * Where a consumer runs: as a Lambda on its event source mapping (the default), or as standalone
 * workers (`consumer <name>`) on ECS Fargate that share its shards through the lease table.
 */
export const CONSUMER_HOSTS = ["lambda", "fargate"] as const;
export type ConsumerHost = (typeof CONSUMER_HOSTS)[number];

/** The CPU architectures of a Fargate task (ECS's own spelling). */
export const FARGATE_ARCHITECTURES = ["ARM64", "X86_64"] as const;
export type FargateArchitecture = (typeof FARGATE_ARCHITECTURES)[number];

/**
 * The memory sizes (MiB) Fargate accepts for each CPU size (units, 1,024 a vCPU) of a Linux task
 * (AWS, "Amazon ECS task definition parameters for Fargate").
 */
export const FARGATE_SIZES: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: steps(1024, 4096, 1024),
  1024: steps(2048, 8192, 1024),
  2048: steps(4096, 16384, 1024),
  4096: steps(8192, 30720, 1024),
  8192: steps(16384, 61440, 4096),
  16384: steps(32768, 122880, 8192),
};

function steps(min: number, max: number, step: number): number[] {
  return Array.from({ length: (max - min) / step + 1 }, (_, i) => min + i * step);
}

/** The most workers a Fargate consumer runs: more than the stream's shards would only wait for a lease. */
export const MAX_FARGATE_WORKERS = 100;

/**
 * A private ECR image the workers run, pinned by a tag or digest:
 * `<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>` or `…@sha256:<digest>`.
 * Groups: account, region, repository, and the tag or digest.
 */
export const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9]+(?:[._\/-][a-z0-9]+)*)(?::([\w][\w.-]{0,127})|@(sha256:[a-f0-9]{64}))$/;

/** A VPC subnet id. */
export const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;

/** The most batches Lambda processes from one shard at once (the mapping's ParallelizationFactor). */
export const MAX_PARALLELIZATION_FACTOR = 10;

/**
 * An API Gateway execute-api ARN that names its region, account and API (no wildcard there),
 * then what of the API: `<stage>/<METHOD>/<path>`, where `*` may stand for any part
 * (arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/reservations, or …/prod/*).
 */
export const EXECUTE_API_ARN = /^arn:aws(-cn|-us-gov)?:execute-api:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:[a-z0-9]{10}\/\S+$/;

/** A setting read as a Pulumi secret, and whether the stack's config holds it encrypted. */
export interface SecretSetting {
  /** The value, marked secret wherever it goes (state, previews, resource inputs). */
  value: pulumi.Output<string>;
  /** Set with `pulumi config set --secret`: a value kept in plain text in `Pulumi.<stack>.yaml` is refused. */
  isSecret: boolean;
}

export interface PipelineConfig {
  /** Prefix of every resource name, so several stacks can share an account. */
  prefix: string;
  /** On-demand by default: no shards to plan for a sale spike. */
  streamMode: StreamMode;
  /** Shards when `streamMode` is PROVISIONED. */
  shardCount: number;
  /** How long the stream keeps records, in hours: 24 (the cheapest) to 8760 (365 days). */
  retentionHours: number;
  /** Production stacks get deletion protection on tables, keys, the user pool and buckets. */
  production: boolean;
  /** Tags put on every resource. */
  tags: Record<string, string>;
  /** CPU of the Rust Lambdas: arm64 is cheaper per GB-second. */
  lambdaArchitecture: Architecture;
  lambdaMemoryMb: number;
  lambdaTimeoutSeconds: number;
  /** Where `scripts/package-lambdas` left `<binary>/bootstrap.zip`. */
  lambdaPackageDir: string;
  /** Days CloudWatch keeps the logs. */
  logRetentionDays: number;
  /** Where alarms are e-mailed (optional; the SNS topic exists either way). */
  alarmEmail?: string;
  /** Steady requests per second the API accepts across all clients, and its burst. */
  apiRateLimit: number;
  apiBurstLimit: number;
  /** Firehose flushes to S3 at whichever comes first: the largest values make the fewest, largest objects. */
  archiveBufferSeconds: number;
  archiveBufferMb: number;
  /** Athena refuses a query that would scan more than this. */
  athenaBytesScannedCutoff: number;
  /** Alarm when a consumer is this far behind the stream. */
  iteratorAgeAlarmSeconds: number;
  /**
   * X-Ray on the Lambdas: Active traces what Lambda samples (1 invocation a second plus 5%, with
   * no sampling rule), which in a quiet month is most batches; PassThrough traces only requests
   * that arrive traced (the query Lambda under a sampled API request).
   */
  lambdaTracing: "Active" | "PassThrough";
  /** Share of API requests traced in X-Ray (X-Ray's default, 1/s + 5%, traces most requests of a quiet shop). */
  traceSampleRate: number;
  /**
   * Whether this stack sets the account's CloudWatch role for API Gateway (`aws.apigateway.Account`),
   * which is one setting for the whole account and region, not this stack's: off by default, when
   * the role must already be set. At most one stack per account and region should set it, and
   * destroying that stack removes it for every API there.
   */
  manageApiGatewayAccount: boolean;
  /**
   * An app client for `verify-stack` (admin password sign-in), for stacks that are verified after a
   * deploy. Off by default: whoever may call cognito-idp:AdminSetUserPassword and
   * AdminInitiateAuth on the pool can sign in through it as any of its users.
   */
  verifierClient: boolean;
  /** Base URL (https://) of the inventory service the orders-inventory saga stage calls. Required. */
  inventoryUrl: string;
  /** Base URL (https://) of the fulfilment service the orders-fulfilment saga stage calls. Required. */
  fulfilmentUrl: string;
  /** Base URL (https://) of the accounting service the orders-accounting saga stage calls. Required. */
  accountingUrl: string;
  /** How the saga stages authenticate to their services: none (the default), iam or api-key. */
  downstreamAuth: DownstreamAuth;
  /**
   * With `iam` (and required then): the execute-api ARNs the saga stages' roles may invoke,
   * exactly these. Refused with any other mode.
   */
  downstreamInvokeArns: string[];
  /**
   * With `api-key` (and required then): the key the saga stages send as `x-api-key`, a secret in
   * the stack's config, stored as an SSM SecureString they read. Refused with any other mode.
   */
  downstreamApiKey?: SecretSetting;
  /** On-demand (the default) or provisioned with auto scaling: the orders and idempotency tables (src/capacity.ts). */
  dynamodbCapacity: DynamoDbCapacityMode;
  /**
   * With `provisioned`: minimum and maximum capacity units, each unset (undefined) for its
   * default in CAPACITY_DEFAULTS; refused with `on-demand`.
   */
  ordersWriteCapacity?: number;
  ordersMaxWriteCapacity?: number;
  idempotencyWriteCapacity?: number;
  idempotencyMaxWriteCapacity?: number;
  ordersReadCapacity?: number;
  ordersMaxReadCapacity?: number;
  /**
   * With `provisioned`, for the one `pulumi up` that switches an existing on-demand stack: the
   * tables and the index take their minimum capacity from the program, instead of keeping what
   * auto scaling set (src/capacity.ts says why the switch needs it). Refused with `on-demand`.
   */
  dynamodbSwitchToProvisioned: boolean;
  /**
   * Pre-warming (WARM_THROUGHPUT_KEYS): unset (undefined) for none. A table's warm throughput can be
   * raised, never lowered.
   */
  ordersWarmWriteUnits?: number;
  idempotencyWarmWriteUnits?: number;
  /**
   * ParallelizationFactor of every consumer's event source mapping, 1 to 10; unset (undefined): the
   * value processors/lambda-event-sources.json publishes for each consumer.
   */
  consumerParallelizationFactor?: number;
  /**
   * Where each consumer runs, by its name in processors/lambda-event-sources.json
   * (`orders-materialiser`, …): lambda or fargate. A consumer not named runs as a Lambda.
   */
  consumerHosts: Record<string, ConsumerHost>;
  /**
   * The container image of the Fargate workers (`consumer` as its entrypoint), from private ECR,
   * pinned by a tag or digest. Required when any consumer is on Fargate.
   */
  consumerImage?: string;
  /** Tasks per Fargate consumer: two, so that one takes over the other's shards within a lease. */
  fargateWorkers: number;
  /** CPU units (1,024 a vCPU) and memory (MiB) of each worker task: a combination Fargate accepts. */
  fargateCpu: number;
  fargateMemory: number;
  /** CPU of the worker tasks: ARM64 (Graviton) is cheaper, like the Lambdas' arm64; the image must match. */
  fargateArchitecture: FargateArchitecture;
  /** The subnets the worker tasks run in (awsvpc). Required when any consumer is on Fargate. */
  fargateSubnetIds: string[];
  /** A public IP on each task: needed in public subnets to reach AWS and the services, not in private subnets with a NAT. */
  fargateAssignPublicIp: boolean;
}

/**
 * The downstream services' base URLs: required settings with no default (a stack cannot guess
 * where its services live), each the service its saga stage calls.
 */
export const SERVICE_URLS = {
  inventoryUrl: "inventory",
  fulfilmentUrl: "fulfilment",
  accountingUrl: "accounting",
} as const;
export type ServiceUrlKey = keyof typeof SERVICE_URLS;
export const SERVICE_URL_KEYS = Object.keys(SERVICE_URLS) as ServiceUrlKey[];

/** Every setting that has a default: all but the services' URLs. */
export type Defaults = Omit<PipelineConfig, ServiceUrlKey>;

export const defaults: Defaults = {
  prefix: "orders",
  streamMode: "ON_DEMAND",
  shardCount: 4,
  retentionHours: 24,
  production: false,
  tags: {},
  lambdaArchitecture: "arm64",
  lambdaMemoryMb: 128,
  lambdaTimeoutSeconds: 60,
  lambdaPackageDir: path.resolve(__dirname, "../../target/lambda"),
  logRetentionDays: 30,
  alarmEmail: undefined,
  apiRateLimit: 500,
  apiBurstLimit: 1000,
  archiveBufferSeconds: 900,
  archiveBufferMb: 128,
  athenaBytesScannedCutoff: 1024 ** 3,
  iteratorAgeAlarmSeconds: 60,
  lambdaTracing: "Active",
  traceSampleRate: 0.01,
  manageApiGatewayAccount: false,
  verifierClient: false,
  downstreamAuth: "none",
  downstreamInvokeArns: [],
  downstreamApiKey: undefined,
  dynamodbCapacity: "on-demand",
  ordersWriteCapacity: undefined,
  ordersMaxWriteCapacity: undefined,
  idempotencyWriteCapacity: undefined,
  idempotencyMaxWriteCapacity: undefined,
  ordersReadCapacity: undefined,
  ordersMaxReadCapacity: undefined,
  dynamodbSwitchToProvisioned: false,
  ordersWarmWriteUnits: undefined,
  idempotencyWarmWriteUnits: undefined,
  consumerParallelizationFactor: undefined,
  consumerHosts: {},
  consumerImage: undefined,
  fargateWorkers: 2,
  fargateCpu: 256,
  fargateMemory: 512,
  fargateArchitecture: "ARM64",
  fargateSubnetIds: [],
  fargateAssignPublicIp: false,
};

/** Retention values CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Checks a configuration; throws one error listing every problem. */
export function validate(config: PipelineConfig): PipelineConfig {
  const problems: string[] = [];
  const whole = (key: keyof PipelineConfig, min: number, max: number) => {
    const value = config[key] as number;
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${key} ${value} must be a whole number from ${min} to ${max}`);
    }
  };
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(config.prefix)) {
    problems.push(`prefix '${config.prefix}' must be lowercase letters, digits and dashes, at most 31 characters`);
  }
  if (config.streamMode !== "ON_DEMAND" && config.streamMode !== "PROVISIONED") {
    problems.push(`streamMode '${config.streamMode}' must be ON_DEMAND or PROVISIONED`);
  }
  whole("shardCount", 1, 10_000);
  whole("retentionHours", 24, 8760);
  if (config.lambdaArchitecture !== "arm64" && config.lambdaArchitecture !== "x86_64") {
    problems.push(`lambdaArchitecture '${config.lambdaArchitecture}' must be arm64 or x86_64`);
  }
  whole("lambdaMemoryMb", 128, 10_240);
  whole("lambdaTimeoutSeconds", 1, 900);
  if (!LOG_RETENTION_DAYS.includes(config.logRetentionDays)) {
    problems.push(`logRetentionDays ${config.logRetentionDays} must be one of ${LOG_RETENTION_DAYS.join(", ")}`);
  }
  if (config.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(config.alarmEmail)) {
    problems.push(`alarmEmail '${config.alarmEmail}' is not an e-mail address`);
  }
  whole("apiRateLimit", 1, 100_000);
  whole("apiBurstLimit", 1, 100_000);
  whole("archiveBufferSeconds", 0, 900);
  whole("archiveBufferMb", 1, 128);
  whole("athenaBytesScannedCutoff", 10 * 1024 ** 2, Number.MAX_SAFE_INTEGER);
  whole("iteratorAgeAlarmSeconds", 1, 604_800);
  if (config.lambdaTracing !== "Active" && config.lambdaTracing !== "PassThrough") {
    problems.push(`lambdaTracing '${config.lambdaTracing}' must be Active or PassThrough`);
  }
  if (!(config.traceSampleRate >= 0 && config.traceSampleRate <= 1)) {
    problems.push(`traceSampleRate ${config.traceSampleRate} must be from 0 to 1`);
  }
  // Whatever the type says, load() passes on a value that is neither true nor false.
  if (typeof config.manageApiGatewayAccount !== "boolean") {
    problems.push(`manageApiGatewayAccount '${config.manageApiGatewayAccount}' must be true or false`);
  }
  if (typeof config.verifierClient !== "boolean") {
    problems.push(`verifierClient '${config.verifierClient}' must be true or false`);
  }
  for (const key of SERVICE_URL_KEYS) {
    // Unset comes through load() as undefined, whatever the type says.
    const url: string | undefined = config[key];
    if (url === undefined || url === "") {
      problems.push(`${key} is required: the ${SERVICE_URLS[key]} service's base URL (pulumi config set ${key} https://...)`);
    } else if (!url.startsWith("https://") || !URL.canParse(url)) {
      problems.push(`${key} '${url}' must be an https:// URL: the ${SERVICE_URLS[key]} service's base URL`);
    }
  }
  problems.push(...downstreamProblems(config));
  problems.push(...capacityProblems(config));
  problems.push(...saleProblems(config));
  problems.push(...fargateProblems(config));
  if (problems.length > 0) {
    throw new Error(`invalid stack configuration:\n- ${problems.join("\n- ")}`);
  }
  return config;
}

/** What is wrong with the saga stages' downstream credentials: each key is required by one mode and refused by the others. */
function downstreamProblems(config: PipelineConfig): string[] {
  const problems: string[] = [];
  const auth = config.downstreamAuth;
  if (!(DOWNSTREAM_AUTH_MODES as readonly string[]).includes(auth)) {
    problems.push(`downstreamAuth '${auth}' must be one of ${DOWNSTREAM_AUTH_MODES.join(", ")}`);
  }
  // Whatever the type says, load() passes on a value that is not a list of strings.
  const arns: unknown = config.downstreamInvokeArns;
  const shape = "arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>";
  if (!Array.isArray(arns) || !arns.every((arn) => typeof arn === "string")) {
    problems.push(`downstreamInvokeArns must be a list of execute-api ARNs (pulumi config set --path 'downstreamInvokeArns[0]' ${shape})`);
  } else if (auth === "iam") {
    if (arns.length === 0) {
      problems.push(
        `downstreamInvokeArns is required when downstreamAuth is iam: the execute-api ARNs the saga stages may invoke ` +
          `(pulumi config set --path 'downstreamInvokeArns[0]' ${shape})`,
      );
    }
    for (const arn of arns) {
      if (!EXECUTE_API_ARN.test(arn)) {
        problems.push(`downstreamInvokeArns '${arn}' is not an execute-api ARN naming its region, account and API (${shape})`);
      }
    }
  } else if (arns.length > 0) {
    problems.push(`downstreamInvokeArns is only used when downstreamAuth is iam, not '${auth}' (pulumi config rm downstreamInvokeArns)`);
  }
  const key = config.downstreamApiKey;
  if (auth === "api-key") {
    if (key === undefined) {
      problems.push("downstreamApiKey is required when downstreamAuth is api-key (pulumi config set --secret downstreamApiKey ...)");
    } else if (!key.isSecret) {
      problems.push(
        "downstreamApiKey must be a secret, and is in plain text in the stack's config: " +
          "set it again with pulumi config set --secret downstreamApiKey ...",
      );
    }
  } else if (key !== undefined) {
    problems.push(`downstreamApiKey is only used when downstreamAuth is api-key, not '${auth}' (pulumi config rm downstreamApiKey)`);
  }
  return problems;
}

/**
 * The capacity settings with their defaults: what `dynamodbCapacity provisioned` builds with.
 * Only meaningful for a configuration validate() accepted with `provisioned`.
 */
export function provisionedSettings(config: PipelineConfig): Record<CapacityKey, number> {
  return Object.fromEntries(CAPACITY_KEYS.map((key) => [key, config[key] ?? CAPACITY_DEFAULTS[key]])) as Record<CapacityKey, number>;
}

/** What is wrong with the tables' capacity settings: each used by `provisioned` only, a whole number of units, no minimum above its maximum. */
function capacityProblems(config: PipelineConfig): string[] {
  const problems: string[] = [];
  const mode = config.dynamodbCapacity;
  // Whatever the type says, load() passes on a value that is not a number, for this to name.
  const shown = (value: unknown) => (typeof value === "string" ? `'${value}'` : String(value));
  if (mode === "provisioned") {
    const settings = provisionedSettings(config);
    const valid = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 1;
    for (const key of CAPACITY_KEYS) {
      if (!valid(settings[key])) problems.push(`${key} ${shown(settings[key])} must be a whole number of capacity units, at least 1`);
    }
    for (const [min, max] of CAPACITY_PAIRS) {
      const [low, high] = [settings[min], settings[max]];
      if (valid(low) && valid(high) && low > high) {
        const source = (key: CapacityKey) => (config[key] === undefined ? " (the default)" : "");
        problems.push(`${min} ${low}${source(min)} must not be above ${max} ${high}${source(max)}`);
      }
    }
    if (typeof config.dynamodbSwitchToProvisioned !== "boolean") {
      problems.push(`dynamodbSwitchToProvisioned '${config.dynamodbSwitchToProvisioned}' must be true or false`);
    }
  } else if (mode === "on-demand") {
    for (const key of CAPACITY_KEYS) {
      if (config[key] !== undefined) {
        problems.push(`${key} is only used when dynamodbCapacity is provisioned, not 'on-demand' (pulumi config rm ${key})`);
      }
    }
    if (config.dynamodbSwitchToProvisioned !== false) {
      problems.push("dynamodbSwitchToProvisioned is only used when dynamodbCapacity is provisioned, not 'on-demand' (pulumi config rm dynamodbSwitchToProvisioned)");
    }
  } else {
    problems.push(`dynamodbCapacity ${shown(mode)} must be one of ${DYNAMODB_CAPACITY_MODES.join(", ")}`);
  }
  return problems;
}

/** What is wrong with the settings for a sale: warm throughput and the mappings' ParallelizationFactor, each optional. */
function saleProblems(config: PipelineConfig): string[] {
  const problems: string[] = [];
  // Whatever the type says, load() passes on a value that is not a number, for this to name.
  const shown = (value: unknown) => (typeof value === "string" ? `'${value}'` : String(value));
  const whole = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value);
  for (const key of WARM_THROUGHPUT_KEYS) {
    const value: unknown = config[key];
    if (value !== undefined && !(whole(value) && value >= MIN_WARM_WRITE_UNITS)) {
      problems.push(`${key} ${shown(value)} must be a whole number of write units per second, at least ${MIN_WARM_WRITE_UNITS}`);
    }
  }
  const factor: unknown = config.consumerParallelizationFactor;
  if (factor !== undefined && !(whole(factor) && factor >= 1 && factor <= MAX_PARALLELIZATION_FACTOR)) {
    problems.push(`consumerParallelizationFactor ${shown(factor)} must be a whole number from 1 to ${MAX_PARALLELIZATION_FACTOR}`);
  }
  return problems;
}

/** The consumers on Fargate, by name; none unless consumerHosts names them. */
export function consumersOnFargate(config: PipelineConfig): string[] {
  return Object.entries(config.consumerHosts ?? {}).filter(([, host]) => host === "fargate").map(([name]) => name);
}

/** Where a consumer runs: as consumerHosts says, a Lambda if it does not name it. */
export function consumerHost(config: PipelineConfig, consumer: string): ConsumerHost {
  return Object.hasOwn(config.consumerHosts, consumer) ? config.consumerHosts[consumer] : "lambda";
}

/**
 * What is wrong with where the consumers run and the Fargate settings: the consumers named must be
 * the published ones, each on lambda or fargate; the image and subnets are required once one is
 * on Fargate. The Fargate settings are checked whenever they are set, and used only then.
 */
function fargateProblems(config: PipelineConfig): string[] {
  const problems: string[] = [];
  // Whatever the types say, load() passes on values of any shape, for this to name.
  const shown = (value: unknown) => (typeof value === "string" ? `'${value}'` : JSON.stringify(value));
  const hosts: unknown = config.consumerHosts;
  const listed = Object.keys(eventSources());
  const isMap = typeof hosts === "object" && hosts !== null && !Array.isArray(hosts);
  if (!isMap) {
    problems.push(
      `consumerHosts must map consumer names to ${CONSUMER_HOSTS.join(" or ")} ` +
        `(pulumi config set --path 'consumerHosts["orders-materialiser"]' fargate), not ${shown(hosts)}`,
    );
  } else {
    for (const [name, host] of Object.entries(hosts)) {
      if (!listed.includes(name)) {
        problems.push(`consumerHosts names ${name}, which ${path.basename(EVENT_SOURCES_FILE)} does not list (it lists ${listed.join(", ")})`);
      }
      if (!(CONSUMER_HOSTS as readonly unknown[]).includes(host)) {
        problems.push(`consumerHosts ${name} ${shown(host)} must be ${CONSUMER_HOSTS.join(" or ")}`);
      }
    }
  }
  const onFargate = isMap && consumersOnFargate(config).length > 0;
  const whole = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value);
  const workers: unknown = config.fargateWorkers;
  if (!(whole(workers) && workers >= 1 && workers <= MAX_FARGATE_WORKERS)) {
    problems.push(`fargateWorkers ${shown(workers)} must be a whole number of tasks from 1 to ${MAX_FARGATE_WORKERS}`);
  }
  const cpu: unknown = config.fargateCpu;
  const memory: unknown = config.fargateMemory;
  const sizes = whole(cpu) && Object.hasOwn(FARGATE_SIZES, cpu) ? FARGATE_SIZES[cpu] : undefined;
  if (sizes === undefined) {
    problems.push(`fargateCpu ${shown(cpu)} must be one of ${Object.keys(FARGATE_SIZES).join(", ")} (CPU units, 1024 a vCPU)`);
  } else if (!(whole(memory) && sizes.includes(memory))) {
    const accepted = sizes.length <= 4 ? sizes.join(", ") : `${sizes[0]} to ${sizes[sizes.length - 1]} in steps of ${sizes[1] - sizes[0]}`;
    problems.push(`fargateMemory ${shown(memory)} does not fit fargateCpu ${cpu}: Fargate takes ${accepted} MiB with it`);
  }
  if (!(FARGATE_ARCHITECTURES as readonly unknown[]).includes(config.fargateArchitecture)) {
    problems.push(`fargateArchitecture ${shown(config.fargateArchitecture)} must be ${FARGATE_ARCHITECTURES.join(" or ")}`);
  }
  if (typeof config.fargateAssignPublicIp !== "boolean") {
    problems.push(`fargateAssignPublicIp ${shown(config.fargateAssignPublicIp)} must be true or false`);
  }
  const image: unknown = config.consumerImage;
  const imageShape = "<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>";
  if (image === undefined) {
    if (onFargate) {
      problems.push(
        `consumerImage is required when a consumer runs on Fargate (${consumersOnFargate(config).join(", ")}): ` +
          `the workers' image in ECR (pulumi config set consumerImage ${imageShape}; docs/deploy.md, Consumers on Fargate)`,
      );
    }
  } else {
    const found = typeof image === "string" ? ECR_IMAGE.exec(image) : null;
    if (found === null) {
      problems.push(`consumerImage ${shown(image)} must be a private ECR image with a tag or digest: ${imageShape} or <repository>@sha256:<digest>`);
    } else if (found[4] === "latest") {
      problems.push(
        `consumerImage ${shown(image)}: tag each build (the commit, a version) instead of 'latest': ` +
          "a new image under the same tag changes nothing Pulumi sees, so pulumi up would not roll it out",
      );
    }
  }
  const subnets: unknown = config.fargateSubnetIds;
  const subnetsShape = "pulumi config set --path 'fargateSubnetIds[0]' subnet-…";
  if (!Array.isArray(subnets)) {
    problems.push(`fargateSubnetIds must be a list of subnet ids (${subnetsShape}), not ${shown(subnets)}`);
  } else {
    if (subnets.length === 0 && onFargate) {
      problems.push(`fargateSubnetIds is required when a consumer runs on Fargate: the subnets its tasks run in, one or more of one VPC (${subnetsShape})`);
    }
    for (const subnet of subnets) {
      if (typeof subnet !== "string" || !SUBNET_ID.test(subnet)) problems.push(`fargateSubnetIds ${shown(subnet)} is not a subnet id (subnet-0123456789abcdef0)`);
    }
  }
  return problems;
}

/**
 * Whether the stack's config holds `fullKey` (`<project>:<key>`) encrypted: the language host
 * passes the names of the secret keys to the program (PULUMI_CONFIG_SECRET_KEYS), and the SDK's
 * runtime answers from them. The SDK marks the function internal, so it is reached untyped; a
 * test fails if it goes, and so does a deploy that needs it, rather than let a plain key through.
 */
export function isConfigSecret(fullKey: string): boolean {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  if (typeof runtime.isConfigSecret !== "function") {
    throw new Error(`cannot tell whether ${fullKey} is a secret: this @pulumi/pulumi has no runtime.isConfigSecret`);
  }
  return runtime.isConfigSecret(fullKey);
}

/** The stack's configuration from `Pulumi.<stack>.yaml`, over the defaults. */
export function load(): PipelineConfig {
  const config = new pulumi.Config();
  const number = (key: keyof Defaults) => config.getNumber(key) ?? (defaults[key] as number);
  // true or false; anything else is passed on as it is, for validate() to name.
  const flag = (key: "manageApiGatewayAccount" | "verifierClient" | "dynamodbSwitchToProvisioned" | "fargateAssignPublicIp") => {
    const raw = config.get(key);
    return raw === undefined ? defaults[key] : raw === "true" ? true : raw === "false" ? false : (raw as unknown as boolean);
  };
  // A capacity or sale setting: undefined when unset (validate() refuses a capacity setting set
  // with on-demand); a value that is not a number is passed on as it is, for validate() to name
  // with the others.
  const capacity = (key: CapacityKey | WarmThroughputKey | "consumerParallelizationFactor" | FargateSizeKey): number | undefined => {
    const raw = config.get(key);
    if (raw === undefined) return undefined;
    const parsed = Number(raw);
    return raw.trim() !== "" && Number.isFinite(parsed) ? parsed : (raw as unknown as number);
  };
  // No default: validate() names each one that is missing.
  const required = (key: ServiceUrlKey) => config.get(key) as string;
  // A list, as `pulumi config set --path 'key[0]' …` stores it (JSON); anything else is passed on
  // as it is, for validate() to name.
  const list = (key: "downstreamInvokeArns" | "fargateSubnetIds") => {
    const raw = config.get(key);
    if (raw === undefined) return defaults[key];
    try {
      return JSON.parse(raw) as string[];
    } catch {
      return raw as unknown as string[];
    }
  };
  // An object, as `pulumi config set --path 'key["name"]' …` stores it (JSON); anything else is
  // passed on as it is, for validate() to name.
  const object = (key: "consumerHosts") => {
    const raw = config.get(key);
    if (raw === undefined) return defaults[key];
    try {
      return JSON.parse(raw) as Record<string, ConsumerHost>;
    } catch {
      return raw as unknown as Record<string, ConsumerHost>;
    }
  };
  // Read as a secret (the optional form of requireSecret: validate() names a missing one with
  // the other problems), with whether the stack's config holds it encrypted, for validate() to
  // refuse a plain one.
  const secret = (key: "downstreamApiKey"): SecretSetting | undefined => {
    const value = config.getSecret(key);
    return value === undefined ? undefined : { value, isSecret: isConfigSecret(`${config.name}:${key}`) };
  };
  return validate({
    prefix: config.get("prefix") ?? defaults.prefix,
    streamMode: (config.get("streamMode") ?? defaults.streamMode) as StreamMode,
    shardCount: number("shardCount"),
    retentionHours: number("retentionHours"),
    production: config.getBoolean("production") ?? defaults.production,
    tags: config.getObject<Record<string, string>>("tags") ?? defaults.tags,
    lambdaArchitecture: (config.get("lambdaArchitecture") ?? defaults.lambdaArchitecture) as Architecture,
    lambdaMemoryMb: number("lambdaMemoryMb"),
    lambdaTimeoutSeconds: number("lambdaTimeoutSeconds"),
    lambdaPackageDir: path.resolve(config.get("lambdaPackageDir") ?? defaults.lambdaPackageDir),
    logRetentionDays: number("logRetentionDays"),
    alarmEmail: config.get("alarmEmail") ?? defaults.alarmEmail,
    apiRateLimit: number("apiRateLimit"),
    apiBurstLimit: number("apiBurstLimit"),
    archiveBufferSeconds: number("archiveBufferSeconds"),
    archiveBufferMb: number("archiveBufferMb"),
    athenaBytesScannedCutoff: number("athenaBytesScannedCutoff"),
    iteratorAgeAlarmSeconds: number("iteratorAgeAlarmSeconds"),
    lambdaTracing: (config.get("lambdaTracing") ?? defaults.lambdaTracing) as PipelineConfig["lambdaTracing"],
    traceSampleRate: number("traceSampleRate"),
    manageApiGatewayAccount: flag("manageApiGatewayAccount"),
    verifierClient: flag("verifierClient"),
    inventoryUrl: required("inventoryUrl"),
    fulfilmentUrl: required("fulfilmentUrl"),
    accountingUrl: required("accountingUrl"),
    downstreamAuth: (config.get("downstreamAuth") ?? defaults.downstreamAuth) as DownstreamAuth,
    downstreamInvokeArns: list("downstreamInvokeArns"),
    downstreamApiKey: secret("downstreamApiKey"),
    dynamodbCapacity: (config.get("dynamodbCapacity") ?? defaults.dynamodbCapacity) as DynamoDbCapacityMode,
    ...(Object.fromEntries(CAPACITY_KEYS.map((key) => [key, capacity(key)])) as Partial<Record<CapacityKey, number>>),
    dynamodbSwitchToProvisioned: flag("dynamodbSwitchToProvisioned"),
    ordersWarmWriteUnits: capacity("ordersWarmWriteUnits"),
    idempotencyWarmWriteUnits: capacity("idempotencyWarmWriteUnits"),
    consumerParallelizationFactor: capacity("consumerParallelizationFactor"),
    consumerHosts: object("consumerHosts"),
    consumerImage: config.get("consumerImage") ?? defaults.consumerImage,
    fargateWorkers: capacity("fargateWorkers") ?? defaults.fargateWorkers,
    fargateCpu: capacity("fargateCpu") ?? defaults.fargateCpu,
    fargateMemory: capacity("fargateMemory") ?? defaults.fargateMemory,
    fargateArchitecture: (config.get("fargateArchitecture") ?? defaults.fargateArchitecture) as FargateArchitecture,
    fargateSubnetIds: list("fargateSubnetIds"),
    fargateAssignPublicIp: flag("fargateAssignPublicIp"),
  });
}
