// What analysts get on top of the archive: the order-tables Lambda, which rebuilds the Parquet
// tables under tables/ from the raw events every hour, and the Athena named queries of
// analytics/queries/*.sql, in the archive's workgroup and database.
import * as fs from "node:fs";
import * as path from "node:path";

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { Archive, EVENTS_PREFIX, TABLES_PREFIX } from "./archive";
import { Context } from "./context";
import { RustLambda, rustLambda } from "./lambdas";

/** The Rust binary (analytics crate) that writes the analyst tables; packaged by scripts/package-lambdas. */
export const ORDER_TABLES_LAMBDA_BINARY = "order-tables-lambda";
/** Where it finds the archive (the bucket's name). */
export const ARCHIVE_BUCKET_VAR = "ORDERS_ARCHIVE_BUCKET";
/**
 * Every hour, with an empty JSON object: each run rebuilds the current UTC day's tables (and the
 * previous day's during the first hours of a day), so a run replaces what the one before wrote.
 */
export const ORDER_TABLES_SCHEDULE = "rate(1 hour)";
export const ORDER_TABLES_INPUT = "{}";
/** Up to 15 minutes a run, with 1 GB for the day's events and the Parquet it writes. */
export const ORDER_TABLES_MEMORY_MB = 1024;
export const ORDER_TABLES_TIMEOUT_SECONDS = 900;

export interface OrderTables {
  lambda: RustLambda;
  rule: aws.cloudwatch.EventRule;
  target: aws.cloudwatch.EventTarget;
  permission: aws.lambda.Permission;
  invokeConfig: aws.lambda.FunctionEventInvokeConfig;
}

/**
 * The order-tables Lambda and its hourly EventBridge rule (a scheduled rule on the default bus:
 * no role to give, nothing to pay). Reserved concurrency 1: two runs never write the same day at
 * once. It reads events/ and replaces what is under tables/, nothing else.
 */
export function createOrderTables(ctx: Context, archive: Archive, key: aws.kms.Key): OrderTables {
  const { bucket } = archive;
  const lambda = rustLambda(ctx, "order-tables", ORDER_TABLES_LAMBDA_BINARY, [
    // Listing the hours of events, no more: a day's tables are one file per table, written over.
    {
      actions: ["s3:ListBucket"],
      resources: [bucket.arn],
      condition: { StringLike: { "s3:prefix": [`${EVENTS_PREFIX}*`] } },
    },
    { actions: ["s3:GetObject"], resources: [pulumi.interpolate`${bucket.arn}/${EVENTS_PREFIX}*`] },
    { actions: ["s3:PutObject"], resources: [pulumi.interpolate`${bucket.arn}/${TABLES_PREFIX}*`] },
    // Decrypt the archived events, encrypt the Parquet files (the bucket's default SSE-KMS).
    { actions: ["kms:Decrypt", "kms:GenerateDataKey"], resources: [key.arn] },
  ], { [ARCHIVE_BUCKET_VAR]: bucket.bucket }, {
    memoryMb: ORDER_TABLES_MEMORY_MB,
    timeoutSeconds: ORDER_TABLES_TIMEOUT_SECONDS,
    reservedConcurrency: 1,
  });
  const rule = new aws.cloudwatch.EventRule(ctx.name("order-tables-hourly"), {
    name: ctx.name("order-tables-hourly"),
    description: "Rebuilds the analyst tables (Parquet under tables/) of the current UTC day from the archive",
    scheduleExpression: ORDER_TABLES_SCHEDULE,
    tags: ctx.tags,
  });
  const permission = new aws.lambda.Permission(ctx.name("order-tables-hourly"), {
    action: "lambda:InvokeFunction",
    function: lambda.fn.name,
    principal: "events.amazonaws.com",
    sourceArn: rule.arn,
  });
  const target = new aws.cloudwatch.EventTarget(ctx.name("order-tables-hourly"), {
    rule: rule.name,
    arn: lambda.fn.arn,
    input: ORDER_TABLES_INPUT,
  }, { dependsOn: [permission] });
  // No retry of a failed run, and a run throttled behind a long one (reserved concurrency 1)
  // is dropped after an hour: the next hour's run rebuilds the same day anyway.
  const invokeConfig = new aws.lambda.FunctionEventInvokeConfig(ctx.name("order-tables"), {
    functionName: lambda.fn.name,
    maximumRetryAttempts: 0,
    maximumEventAgeInSeconds: 3600,
  });
  return { lambda, rule, target, permission, invokeConfig };
}

/** Where the analysts' queries are kept, one `<name>.sql` file each. */
export const QUERIES_DIR = path.resolve(__dirname, "../../analytics/queries");

/** Athena's limits on a named query's name, description and query text. */
export const QUERY_NAME_MAX = 128;
export const QUERY_DESCRIPTION_MAX = 1024;
export const QUERY_MAX_BYTES = 262_144;

/** One named query, as read from its file. */
export interface QueryFile {
  /** The file name without `.sql`. */
  name: string;
  /** Its first line, `-- <purpose>`, without the `-- `. */
  description: string;
  /** The whole file. */
  query: string;
}

/**
 * Every `*.sql` file of `dir`, sorted by file name (none if `dir` does not exist). Each must start
 * with a line `-- <one-line purpose>`, its description; throws one error naming every file that
 * does not (or whose purpose or query is longer than Athena takes).
 */
export function loadQueries(dir: string): QueryFile[] {
  if (!fs.existsSync(dir)) return [];
  const files = fs.readdirSync(dir)
    .filter((file) => file.endsWith(".sql") && fs.statSync(path.join(dir, file)).isFile())
    .sort();
  const problems: string[] = [];
  const queries: QueryFile[] = [];
  for (const file of files) {
    const where = path.join(dir, file);
    const name = file.slice(0, -".sql".length);
    if (name.length === 0 || name.length > QUERY_NAME_MAX) {
      problems.push(`${where}: a named query's name (the file name without .sql) is 1 to ${QUERY_NAME_MAX} characters`);
    }
    const query = fs.readFileSync(where, "utf8");
    const purpose = /^(?:\uFEFF)?-- (.*\S.*)$/.exec(query.split(/\r?\n/, 1)[0]);
    if (!purpose) {
      problems.push(`${where} must start with a line '-- <one-line purpose>': the named query's description`);
      continue;
    }
    const description = purpose[1].trim();
    if (description.length > QUERY_DESCRIPTION_MAX) {
      problems.push(`${where}: its purpose line is ${description.length} characters, more than the ${QUERY_DESCRIPTION_MAX} Athena takes`);
    }
    if (Buffer.byteLength(query) > QUERY_MAX_BYTES) {
      problems.push(`${where} is ${Buffer.byteLength(query)} bytes, more than the ${QUERY_MAX_BYTES} Athena takes in a named query`);
    }
    queries.push({ name, description, query });
  }
  if (problems.length > 0) throw new Error(`invalid named queries:\n- ${problems.join("\n- ")}`);
  return queries;
}

/** An Athena named query per file of `dir`, in the archive's workgroup and analytics database. */
export function createNamedQueries(
  ctx: Context,
  archive: Pick<Archive, "database" | "workgroup">,
  dir: string = QUERIES_DIR,
): aws.athena.NamedQuery[] {
  return loadQueries(dir).map((q) => new aws.athena.NamedQuery(ctx.name(`named-query-${q.name}`), {
    name: q.name,
    description: q.description,
    query: q.query,
    database: archive.database.name,
    workgroup: archive.workgroup.name,
  }));
}
