// The archive: Firehose reads the stream and writes every record, newline-delimited and
// gzipped, to S3 under events/ by UTC hour; the order-tables Lambda (src/analytics.ts) rewrites
// them as the analysts' Parquet tables under tables/, one folder per UTC date. Glue describes
// both with partition projection (no crawler, no partition maintenance) and an Athena workgroup
// caps what one query may scan.
import * as fs from "fs";
import * as path from "path";

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { Context } from "./context";

/** The archive's layout, shared with the local Firehose stand-in (analytics::layout). */
export const ARCHIVE_LAYOUT_FILE = path.join(__dirname, "../../analytics/archive-layout.json");
const layout: {
  eventsPrefix: string;
  errorsPrefix: string;
  partitions: { name: string; pattern: string }[];
  tablesPrefix: string;
  tablePartition: { name: string; format: string };
  tables: AnalystTable[];
} = JSON.parse(fs.readFileSync(ARCHIVE_LAYOUT_FILE, "utf8"));

/** An analyst table as archive-layout.json defines it: its columns are Glue types. */
export interface AnalystTable {
  name: string;
  about: string;
  columns: { name: string; type: string }[];
}

/** Hive-style partitions of the archive, with Firehose's timestamp format for each. */
export const ARCHIVE_PARTITIONS: [name: string, firehoseFormat: string][] = layout.partitions.map((p) => [p.name, p.pattern]);
export const EVENTS_PREFIX = layout.eventsPrefix;
export const ERRORS_PREFIX = layout.errorsPrefix;

/** Where the order-tables Lambda writes the analyst tables: `tables/<table>/date=YYYY-MM-DD/`. */
export const TABLES_PREFIX = layout.tablesPrefix;
/** The analyst tables' one partition (`date`) and its projection format (`yyyy-MM-dd`): the UTC date of the event's time. */
export const TABLE_PARTITION = layout.tablePartition;
/** The analyst tables, each a Parquet table under `tables/<name>/`, in the file's order. */
export const ANALYST_TABLES: AnalystTable[] = layout.tables;
/** The first date the analyst tables' projection offers (the raw table's first year is 2025 too). */
export const TABLES_FIRST_DATE = "2025-01-01";
/** The Glue name of the raw table over events/ (the Parquet table took its old name, order_events). */
export const RAW_TABLE = "raw_events";

/** `year=!{timestamp:yyyy}/…/hour=!{timestamp:HH}/`: an hour's folder, in Firehose's syntax. */
const firehoseHour = ARCHIVE_PARTITIONS.map(([n, f]) => `${n}=!{timestamp:${f}}/`).join("");
/** `events/year=!{timestamp:yyyy}/…/`: where Firehose writes an hour's records. */
export const firehosePrefix = EVENTS_PREFIX + firehoseHour;
/** The same place as Athena's partition projection names it. */
export const projectionTemplate = EVENTS_PREFIX + ARCHIVE_PARTITIONS.map(([n]) => `${n}=\${${n}}/`).join("");

/** Private, KMS-encrypted, TLS-only, owned by this account. */
export function privateBucket(ctx: Context, name: string, key: aws.kms.Key): aws.s3.Bucket {
  const bucket = new aws.s3.Bucket(ctx.name(name), {
    forceDestroy: !ctx.config.production,
    tags: ctx.tags,
  }, { protect: ctx.config.production });
  new aws.s3.BucketPublicAccessBlock(ctx.name(name), {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new aws.s3.BucketOwnershipControls(ctx.name(name), {
    bucket: bucket.id,
    rule: { objectOwnership: "BucketOwnerEnforced" },
  });
  new aws.s3.BucketServerSideEncryptionConfiguration(ctx.name(name), {
    bucket: bucket.id,
    // A bucket key makes KMS calls per bucket and hour rather than per object.
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }],
  });
  new aws.s3.BucketPolicy(ctx.name(name), {
    bucket: bucket.id,
    policy: pulumi.jsonStringify({
      Version: "2012-10-17",
      Statement: [{
        Sid: "TlsOnly",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }],
    }),
  });
  return bucket;
}

export interface Archive {
  bucket: aws.s3.Bucket;
  firehose: aws.kinesis.FirehoseDeliveryStream;
  database: aws.glue.CatalogDatabase;
  /** `raw_events`: the JSON events as Firehose wrote them, under events/. */
  rawTable: aws.glue.CatalogTable;
  /** The analyst tables (Parquet, under tables/), by name, as archive-layout.json lists them. */
  tables: Record<string, aws.glue.CatalogTable>;
  workgroup: aws.athena.Workgroup;
}

export function createArchive(ctx: Context, stream: aws.kinesis.Stream, key: aws.kms.Key): Archive {
  const bucket = privateBucket(ctx, "archive", key);
  new aws.s3.BucketLifecycleConfiguration(ctx.name("archive"), {
    bucket: bucket.id,
    rules: [
      {
        id: "events-to-cheaper-storage",
        status: "Enabled",
        // Infrequent-access classes bill at least 128 KB per object: small objects stay put.
        filter: { and: { prefix: EVENTS_PREFIX, objectSizeGreaterThan: 128 * 1024 } },
        // Replays read the stream or recent hours; analysts scan months. Older objects are rarely read.
        transitions: [
          { days: 30, storageClass: "STANDARD_IA" },
          { days: 90, storageClass: "GLACIER_IR" },
        ],
      },
      {
        id: "tables-to-infrequent-access",
        status: "Enabled",
        // The same 128 KB floor as the events. Never to Glacier: Athena scans these tables.
        filter: { and: { prefix: TABLES_PREFIX, objectSizeGreaterThan: 128 * 1024 } },
        transitions: [{ days: 30, storageClass: "STANDARD_IA" }],
      },
      { id: "athena-results-expire", status: "Enabled", filter: { prefix: "athena-results/" }, expiration: { days: 7 } },
      { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
    ],
  });

  const logGroup = new aws.cloudwatch.LogGroup(ctx.name("archive-logs"), {
    name: `/aws/kinesisfirehose/${ctx.name("archive")}`,
    retentionInDays: ctx.config.logRetentionDays,
    tags: ctx.tags,
  });
  const logStream = new aws.cloudwatch.LogStream(ctx.name("archive-s3-delivery"), {
    name: "S3Delivery",
    logGroupName: logGroup.name,
  });

  const role = new aws.iam.Role(ctx.name("archive"), {
    name: ctx.name("archive"),
    assumeRolePolicy: pulumi.jsonStringify({
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { Service: "firehose.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:ExternalId": ctx.accountId } },
      }],
    }),
    tags: ctx.tags,
  });
  const policy = new aws.iam.RolePolicy(ctx.name("archive"), {
    role: role.name,
    policy: pulumi.jsonStringify({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: ["kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"], Resource: [stream.arn] },
        { Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], Resource: [bucket.arn] },
        {
          Effect: "Allow",
          Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
          Resource: [pulumi.interpolate`${bucket.arn}/${EVENTS_PREFIX}*`, pulumi.interpolate`${bucket.arn}/${ERRORS_PREFIX}*`],
        },
        // Decrypt the stream's records, encrypt the objects written.
        { Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [key.arn] },
        { Effect: "Allow", Action: ["logs:PutLogEvents"], Resource: [pulumi.interpolate`${logGroup.arn}:log-stream:${logStream.name}`] },
      ],
    }),
  });

  const firehose = new aws.kinesis.FirehoseDeliveryStream(ctx.name("archive"), {
    name: ctx.name("archive"),
    destination: "extended_s3",
    kinesisSourceConfiguration: { kinesisStreamArn: stream.arn, roleArn: role.arn },
    extendedS3Configuration: {
      roleArn: role.arn,
      bucketArn: bucket.arn,
      prefix: firehosePrefix,
      errorOutputPrefix: `${ERRORS_PREFIX}!{firehose:error-output-type}/${firehoseHour}`,
      bufferingInterval: ctx.config.archiveBufferSeconds,
      bufferingSize: ctx.config.archiveBufferMb,
      compressionFormat: "GZIP",
      kmsKeyArn: key.arn,
      // One JSON event per line, so Athena and the replay tool can read the objects.
      processingConfiguration: { enabled: true, processors: [{ type: "AppendDelimiterToRecord" }] },
      cloudwatchLoggingOptions: { enabled: true, logGroupName: logGroup.name, logStreamName: logStream.name },
    },
    tags: ctx.tags,
  }, { dependsOn: [policy] });

  const database = new aws.glue.CatalogDatabase(ctx.name("analytics"), {
    name: ctx.name("analytics").replaceAll("-", "_"),
    description: "The orders archive, for Athena",
  });
  const money = "struct<amount:bigint,currency:string>";
  // A placed order, as order.placed carries it in `data` (rejected ones with their violations).
  const orderFields = `orderId:string,customerId:string,channel:string,` +
    `lines:array<struct<sku:string,quantity:int,unitPrice:${money}>>,total:${money},` +
    `shippingAddress:struct<name:string,line1:string,line2:string,city:string,region:string,postalCode:string,country:string>,` +
    `paymentReference:string,placedAt:string`;
  // Lifecycle events carry `{"order": <the placed order>, "reason": …, "reference": …}` in `data`.
  const dataStruct = `struct<${orderFields},order:struct<${orderFields}>,reason:string,reference:string,` +
    `violations:array<struct<pointer:string,message:string>>>`;
  // New in Glue as raw_events (it was order_events, the name the Parquet table below takes over).
  const rawTable = new aws.glue.CatalogTable(ctx.name("raw-events"), {
    name: RAW_TABLE,
    databaseName: database.name,
    description: "Every event of the orders stream as Firehose archived it, one CloudEvents JSON object per line, by UTC hour of arrival",
    tableType: "EXTERNAL_TABLE",
    parameters: {
      EXTERNAL: "TRUE",
      classification: "json",
      "projection.enabled": "true",
      "projection.year.type": "integer",
      "projection.year.range": "2025,2125",
      "projection.month.type": "integer",
      "projection.month.range": "1,12",
      "projection.month.digits": "2",
      "projection.day.type": "integer",
      "projection.day.range": "1,31",
      "projection.day.digits": "2",
      "projection.hour.type": "integer",
      "projection.hour.range": "0,23",
      "projection.hour.digits": "2",
      "storage.location.template": pulumi.interpolate`s3://${bucket.bucket}/${projectionTemplate}`,
    },
    partitionKeys: ARCHIVE_PARTITIONS.map(([name]) => ({ name, type: "string" })),
    storageDescriptor: {
      location: pulumi.interpolate`s3://${bucket.bucket}/${EVENTS_PREFIX}`,
      inputFormat: "org.apache.hadoop.mapred.TextInputFormat",
      outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
      serDeInfo: {
        serializationLibrary: "org.openx.data.jsonserde.JsonSerDe",
        // A malformed line is skipped rather than failing the whole query.
        parameters: { "ignore.malformed.json": "true" },
      },
      columns: [
        { name: "specversion", type: "string" },
        { name: "id", type: "string" },
        { name: "source", type: "string" },
        { name: "type", type: "string" },
        { name: "time", type: "string" },
        { name: "subject", type: "string" },
        { name: "datacontenttype", type: "string" },
        { name: "customerid", type: "string" },
        { name: "schemaversion", type: "int" },
        { name: "data", type: dataStruct },
      ],
    },
  });

  const tables = Object.fromEntries(ANALYST_TABLES.map((table) => [table.name, analystTable(ctx, table, bucket, database)]));

  const workgroup = new aws.athena.Workgroup(ctx.name("analytics"), {
    name: ctx.name("analytics"),
    forceDestroy: !ctx.config.production,
    configuration: {
      // Users cannot override the cap or the encrypted result location.
      enforceWorkgroupConfiguration: true,
      bytesScannedCutoffPerQuery: ctx.config.athenaBytesScannedCutoff,
      publishCloudwatchMetricsEnabled: true,
      resultConfiguration: {
        outputLocation: pulumi.interpolate`s3://${bucket.bucket}/athena-results/`,
        encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKeyArn: key.arn },
      },
    },
    tags: ctx.tags,
  });

  return { bucket, firehose, database, rawTable, tables, workgroup };
}

/**
 * An analyst table: the order-tables Lambda's Parquet files under `tables/<name>/`, one folder
 * per UTC date (`date=YYYY-MM-DD/`), found by partition projection from 2025-01-01 to today.
 * Its resource is named `<prefix>-<name with dashes>`: order_events keeps the resource that
 * was the raw JSON table's, so an existing stack updates that Glue table in place (its name
 * does not change; Glue has no rename) rather than creating a second table of the same name.
 */
export function analystTable(
  ctx: Context,
  table: AnalystTable,
  bucket: aws.s3.Bucket,
  database: aws.glue.CatalogDatabase,
): aws.glue.CatalogTable {
  if (table.name === RAW_TABLE) {
    throw new Error(`${path.basename(ARCHIVE_LAYOUT_FILE)}: table ${RAW_TABLE} is the raw events' table; give the analyst table another name`);
  }
  const partition = TABLE_PARTITION.name;
  const location = pulumi.interpolate`s3://${bucket.bucket}/${TABLES_PREFIX}${table.name}/`;
  return new aws.glue.CatalogTable(ctx.name(table.name.replaceAll("_", "-")), {
    name: table.name,
    databaseName: database.name,
    description: table.about,
    tableType: "EXTERNAL_TABLE",
    parameters: {
      EXTERNAL: "TRUE",
      classification: "parquet",
      "projection.enabled": "true",
      [`projection.${partition}.type`]: "date",
      [`projection.${partition}.format`]: TABLE_PARTITION.format,
      [`projection.${partition}.range`]: `${TABLES_FIRST_DATE},NOW`,
      [`projection.${partition}.interval`]: "1",
      [`projection.${partition}.interval.unit`]: "DAYS",
      "storage.location.template": pulumi.interpolate`${location}${partition}=\${${partition}}/`,
    },
    partitionKeys: [{ name: partition, type: "string" }],
    storageDescriptor: {
      location,
      inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
      outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
      serDeInfo: { serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" },
      columns: table.columns.map(({ name, type }) => ({ name, type })),
    },
  });
}
