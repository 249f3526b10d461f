// The archive: Firehose reads the stream and writes every record, newline-delimited and
// gzipped, to S3 under events/ by UTC hour; Glue describes it with partition projection (no
// crawler, no partition maintenance) and an Athena workgroup caps what one query may scan.
import * as fs from "fs";
import * as path from "path";

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { Context } from "./context";

/** The archive's layout, shared with the local Firehose stand-in (analytics::layout). */
export const ARCHIVE_LAYOUT_FILE = path.join(__dirname, "../../analytics/archive-layout.json");
const layout: { eventsPrefix: string; errorsPrefix: string; partitions: { name: string; pattern: string }[] } =
  JSON.parse(fs.readFileSync(ARCHIVE_LAYOUT_FILE, "utf8"));

/** Hive-style partitions of the archive, with Firehose's timestamp format for each. */
export const ARCHIVE_PARTITIONS: [name: string, firehoseFormat: string][] = layout.partitions.map((p) => [p.name, p.pattern]);
export const EVENTS_PREFIX = layout.eventsPrefix;
export const ERRORS_PREFIX = layout.errorsPrefix;

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
  table: aws.glue.CatalogTable;
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
  const table = new aws.glue.CatalogTable(ctx.name("order-events"), {
    name: "order_events",
    databaseName: database.name,
    description: "Every event of the orders stream, one CloudEvents JSON object per line, by UTC hour of arrival",
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
        {
          name: "data",
          type: `struct<orderId:string,customerId:string,channel:string,` +
            `lines:array<struct<sku:string,quantity:int,unitPrice:${money}>>,total:${money},` +
            `shippingAddress:struct<name:string,line1:string,line2:string,city:string,region:string,postalCode:string,country:string>,` +
            `paymentReference:string,placedAt:string>`,
        },
      ],
    },
  });

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

  return { bucket, firehose, database, table, workgroup };
}
