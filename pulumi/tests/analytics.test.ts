// The analysts' side of the archive, offline with Pulumi's mocks: the Parquet tables as
// archive-layout.json defines them, the raw JSON table, the order-tables Lambda with its
// schedule, role, alarm and lifecycle rule, and the named queries read from SQL files.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeEach, describe, test } from "node:test";

import { Recorded, ofType, one, recorded, settle, testConfig, value } from "./mocks";
import {
  ARCHIVE_BUCKET_VAR, ORDER_TABLES_LAMBDA_BINARY, QUERIES_DIR, createNamedQueries, loadQueries,
} from "../src/analytics";
import { ARCHIVE_LAYOUT_FILE } from "../src/archive";
import { context } from "../src/context";
import { Pipeline, createPipeline } from "../src/pipeline";

beforeEach(() => {
  recorded.length = 0;
});

async function build(overrides = {}): Promise<Pipeline> {
  const pipeline = createPipeline(testConfig(overrides));
  await settle();
  return pipeline;
}

/** The shared file, read here on its own: the tables must be exactly what it says. */
const LAYOUT = JSON.parse(fs.readFileSync(ARCHIVE_LAYOUT_FILE, "utf8")) as {
  tablesPrefix: string;
  tablePartition: { name: string; format: string };
  tables: { name: string; about: string; columns: { name: string; type: string }[] }[];
};

const GLUE_TABLE = "aws:glue/catalogTable:CatalogTable";
const FUNCTION = "aws:lambda/function:Function";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const NAMED_QUERY = "aws:athena/namedQuery:NamedQuery";

function table(name: string): Recorded {
  const found = ofType(GLUE_TABLE).filter((t) => t.inputs.name === name);
  assert.equal(found.length, 1, `Glue tables named ${name}`);
  return found[0];
}

describe("the analyst tables", () => {
  test("the layout file defines order_events and order_lines, partitioned by date, under tables/", () => {
    assert.deepEqual(LAYOUT.tables.map((t) => t.name), ["order_events", "order_lines"]);
    assert.equal(LAYOUT.tablesPrefix, "tables/");
    assert.deepEqual(LAYOUT.tablePartition, { name: "date", format: "yyyy-MM-dd" });
  });

  test("each is a Parquet table under tables/<name>/ with exactly the layout file's columns and description", async () => {
    const pipeline = await build();
    const bucket = await value(pipeline.archive.bucket.bucket);
    const database = await value(pipeline.archive.database.name);
    assert.equal(ofType(GLUE_TABLE).length, 1 + LAYOUT.tables.length);
    assert.deepEqual(Object.keys(pipeline.archive.tables), LAYOUT.tables.map((t) => t.name));
    for (const spec of LAYOUT.tables) {
      const { inputs } = table(spec.name);
      assert.equal(await value(pipeline.archive.tables[spec.name].name), spec.name);
      assert.equal(inputs.databaseName, database, spec.name);
      assert.equal(inputs.tableType, "EXTERNAL_TABLE", spec.name);
      assert.equal(inputs.description, spec.about, spec.name);
      assert.equal(inputs.parameters.EXTERNAL, "TRUE", spec.name);
      assert.equal(inputs.parameters.classification, "parquet", spec.name);
      const sd = inputs.storageDescriptor;
      assert.equal(sd.location, `s3://${bucket}/tables/${spec.name}/`, spec.name);
      assert.equal(sd.inputFormat, "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat", spec.name);
      assert.equal(sd.outputFormat, "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat", spec.name);
      assert.equal(sd.serDeInfo.serializationLibrary, "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", spec.name);
      assert.deepEqual(sd.columns, spec.columns, spec.name);
      // The partition is not a column of the files: only a key.
      assert.ok(!sd.columns.some((c: { name: string }) => c.name === "date"), spec.name);
      assert.deepEqual(inputs.partitionKeys, [{ name: "date", type: "string" }], spec.name);
    }
  });

  test("each finds its days by date projection from 2025-01-01 to today, in date=YYYY-MM-DD/ folders", async () => {
    const pipeline = await build();
    const bucket = await value(pipeline.archive.bucket.bucket);
    for (const spec of LAYOUT.tables) {
      const { parameters } = table(spec.name).inputs;
      assert.deepEqual(parameters, {
        EXTERNAL: "TRUE",
        classification: "parquet",
        "projection.enabled": "true",
        "projection.date.type": "date",
        "projection.date.format": "yyyy-MM-dd",
        "projection.date.range": "2025-01-01,NOW",
        "projection.date.interval": "1",
        "projection.date.interval.unit": "DAYS",
        "storage.location.template": `s3://${bucket}/tables/${spec.name}/date=\${date}/`,
      }, spec.name);
    }
  });

  test("order_events keeps the resource of the old raw table, so a stack updates that Glue table in place", async () => {
    await build();
    // Glue cannot rename a table: the raw one is new (raw_events), and the Parquet order_events
    // is the same resource, with the same name, as the JSON order_events was.
    assert.equal(one(GLUE_TABLE, "orders-order-events").inputs.name, "order_events");
    assert.equal(one(GLUE_TABLE, "orders-order-lines").inputs.name, "order_lines");
    assert.equal(one(GLUE_TABLE, "orders-raw-events").inputs.name, "raw_events");
  });
});

describe("the raw table", () => {
  test("is raw_events over events/, JSON, by hour, with lifecycle events' and rejections' data readable", async () => {
    const pipeline = await build();
    const bucket = await value(pipeline.archive.bucket.bucket);
    const { inputs } = table("raw_events");
    assert.equal(await value(pipeline.archive.rawTable.name), "raw_events");
    assert.equal(inputs.parameters.classification, "json");
    assert.equal(inputs.storageDescriptor.location, `s3://${bucket}/events/`);
    assert.equal(inputs.storageDescriptor.serDeInfo.serializationLibrary, "org.openx.data.jsonserde.JsonSerDe");
    assert.deepEqual(inputs.partitionKeys.map((k: { name: string }) => k.name), ["year", "month", "day", "hour"]);

    const columns: { name: string; type: string }[] = inputs.storageDescriptor.columns;
    assert.deepEqual(columns.map((c) => c.name), [
      "specversion", "id", "source", "type", "time", "subject", "datacontenttype", "customerid", "schemaversion", "data",
    ]);
    const data = columns.find((c) => c.name === "data")!.type;
    const money = "struct<amount:bigint,currency:string>";
    const order = "orderId:string,customerId:string,channel:string," +
      `lines:array<struct<sku:string,quantity:int,unitPrice:${money}>>,total:${money},` +
      "shippingAddress:struct<name:string,line1:string,line2:string,city:string,region:string,postalCode:string,country:string>," +
      "paymentReference:string,placedAt:string";
    // order.placed's data is the order itself (rejected ones with their violations); a lifecycle
    // event's is {order, reason, reference}.
    assert.equal(data, `struct<${order},order:struct<${order}>,reason:string,reference:string,` +
      "violations:array<struct<pointer:string,message:string>>>");
    // Balanced, so Glue and Athena can parse it.
    assert.equal((data.match(/</g) ?? []).length, (data.match(/>/g) ?? []).length);
  });
});

describe("the order-tables Lambda", () => {
  const FN = "orders-order-tables";

  test("runs the packaged order-tables-lambda on provided.al2023 with 1024 MB, 900 s and reserved concurrency 1", async () => {
    const pipeline = await build();
    const fn = one(FUNCTION, FN).inputs;
    assert.equal(fn.name, FN);
    assert.equal(fn.runtime, "provided.al2023");
    assert.equal(fn.handler, "bootstrap");
    assert.deepEqual(fn.architectures, ["arm64"]);
    assert.equal(fn.memorySize, 1024);
    assert.equal(fn.timeout, 900);
    assert.equal(fn.reservedConcurrentExecutions, 1);
    assert.deepEqual(fn.tracingConfig, { mode: "Active" });
    assert.equal(fn.tags.project, "orders-pipeline");
    assert.equal(ORDER_TABLES_LAMBDA_BINARY, "order-tables-lambda");
    // The archive bucket's name, and nothing else.
    assert.equal(ARCHIVE_BUCKET_VAR, "ORDERS_ARCHIVE_BUCKET");
    assert.deepEqual(fn.environment.variables, { ORDERS_ARCHIVE_BUCKET: await value(pipeline.archive.bucket.bucket) });
    const logGroup = one("aws:cloudwatch/logGroup:LogGroup", `${FN}-logs`).inputs;
    assert.equal(logGroup.name, `/aws/lambda/${FN}`);
    assert.equal(logGroup.retentionInDays, 30);
    assert.equal(fn.loggingConfig.logGroup, logGroup.name);
  });

  test("follows the stack's architecture and tracing, but not its memory or timeout; the other Lambdas reserve nothing", async () => {
    await build({ lambdaArchitecture: "x86_64", lambdaMemoryMb: 256, lambdaTimeoutSeconds: 30, lambdaTracing: "PassThrough" });
    const fn = one(FUNCTION, FN).inputs;
    assert.deepEqual(fn.architectures, ["x86_64"]);
    assert.deepEqual(fn.tracingConfig, { mode: "PassThrough" });
    assert.equal(fn.memorySize, 1024);
    assert.equal(fn.timeout, 900);
    for (const other of ofType(FUNCTION).filter((f) => f.inputs.name !== FN)) {
      assert.equal(other.inputs.reservedConcurrentExecutions, undefined, other.inputs.name);
      assert.equal(other.inputs.memorySize, 256, other.inputs.name);
    }
  });

  test("a stack whose order-tables Lambda has not been packaged is a clear error", async () => {
    const config = testConfig();
    fs.rmSync(path.join(config.lambdaPackageDir, ORDER_TABLES_LAMBDA_BINARY), { recursive: true });
    assert.throws(() => createPipeline(config), /order-tables-lambda\/bootstrap\.zip does not exist: build the Lambdas first/);
    // What was registered before the error is not the next test's.
    await settle();
    recorded.length = 0;
  });

  test("its role may list events/ and tables/, read events/, write and delete under tables/, and use the key: exactly", async () => {
    const pipeline = await build();
    const bucket = await value(pipeline.archive.bucket.arn);
    const key = await value(pipeline.key.arn);
    const logGroup = await value(pipeline.orderTables.lambda.logGroup.arn);
    const role = one("aws:iam/role:Role", FN).inputs;
    assert.equal(role.name, FN);
    assert.deepEqual(JSON.parse(role.assumeRolePolicy).Statement, [
      { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    const policy = one("aws:iam/rolePolicy:RolePolicy", FN).inputs;
    assert.equal(policy.role, FN);
    assert.deepEqual(JSON.parse(policy.policy).Statement, [
      { Effect: "Allow", Action: ["s3:ListBucket"], Resource: [bucket], Condition: { StringLike: { "s3:prefix": ["events/*"] } } },
      { Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${bucket}/events/*`] },
      { Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${bucket}/tables/*`] },
      { Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [key] },
      // What every Rust Lambda has: its own log group, and X-Ray (which has no resource to name).
      { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${logGroup}:*`] },
      { Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: ["*"] },
    ]);
  });

  test("no other role reaches tables/, and none but Firehose's writes under events/", async () => {
    const pipeline = await build();
    const bucket = await value(pipeline.archive.bucket.arn);
    for (const policy of ofType("aws:iam/rolePolicy:RolePolicy")) {
      const resources: string[] = JSON.parse(policy.inputs.policy).Statement.flatMap((s: { Resource: string[] }) => s.Resource);
      if (policy.inputs.role !== FN) {
        assert.ok(!resources.includes(`${bucket}/tables/*`), policy.name);
        assert.ok(!resources.includes(`${bucket}/events/*`) || policy.inputs.role === "orders-archive", policy.name);
      }
    }
  });

  test("an hourly EventBridge rule invokes it with {}, and only that rule may", async () => {
    const pipeline = await build();
    const rule = one("aws:cloudwatch/eventRule:EventRule", "orders-order-tables-hourly").inputs;
    assert.equal(rule.name, "orders-order-tables-hourly");
    assert.equal(rule.scheduleExpression, "rate(1 hour)");
    assert.equal(rule.eventPattern, undefined);
    assert.equal(rule.tags.project, "orders-pipeline");
    const target = one("aws:cloudwatch/eventTarget:EventTarget", "orders-order-tables-hourly").inputs;
    assert.equal(target.rule, "orders-order-tables-hourly");
    assert.equal(target.arn, await value(pipeline.orderTables.lambda.fn.arn));
    assert.deepEqual(JSON.parse(target.input), {});
    assert.equal(target.roleArn, undefined);
    const permission = one("aws:lambda/permission:Permission", "orders-order-tables-hourly").inputs;
    assert.equal(permission.action, "lambda:InvokeFunction");
    assert.equal(permission.function, FN);
    assert.equal(permission.principal, "events.amazonaws.com");
    assert.equal(permission.sourceArn, await value(pipeline.orderTables.rule.arn));
    // A failed run is not retried, and a run queued behind a long one is dropped after an hour:
    // the next run rebuilds the same day.
    const invoke = one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "orders-order-tables").inputs;
    assert.equal(invoke.functionName, FN);
    assert.equal(invoke.maximumRetryAttempts, 0);
    assert.equal(invoke.maximumEventAgeInSeconds, 3600);
  });

  test("one failed run in an hour alarms on the alarm topic", async () => {
    const pipeline = await build();
    const alarm = one(ALARM, "orders-order-tables-errors").inputs;
    const topic = await value(pipeline.monitoring.topic.arn);
    assert.equal(alarm.name, "orders-order-tables-errors");
    assert.equal(alarm.namespace, "AWS/Lambda");
    assert.equal(alarm.metricName, "Errors");
    assert.deepEqual(alarm.dimensions, { FunctionName: FN });
    assert.equal(alarm.statistic, "Sum");
    assert.equal(alarm.period, 3600);
    assert.equal(alarm.evaluationPeriods, 1);
    assert.equal(alarm.threshold, 1);
    assert.equal(alarm.comparisonOperator, "GreaterThanOrEqualToThreshold");
    assert.equal(alarm.treatMissingData, "notBreaching");
    assert.deepEqual(alarm.alarmActions, [topic]);
    assert.deepEqual(alarm.okActions, [topic]);
    assert.ok(alarm.alarmDescription.length <= 1024);
    // Only the Errors alarm: no consumer-style IteratorAge or dead-letter alarm for it.
    assert.deepEqual(ofType(ALARM).filter((a) => a.inputs.dimensions?.FunctionName === FN).map((a) => a.name), ["orders-order-tables-errors"]);
  });

  test("the dashboard shows its runs, errors and duration", async () => {
    await build();
    const body = JSON.parse(ofType("aws:cloudwatch/dashboard:Dashboard")[0].inputs.dashboardBody);
    const widgets = body.widgets.filter((w: any) => JSON.stringify(w.properties.metrics ?? []).includes(FN));
    assert.equal(widgets.length, 2);
    const metrics = JSON.stringify(widgets.map((w: any) => w.properties.metrics));
    for (const metric of ["Invocations", "Errors", "Duration"]) assert.ok(metrics.includes(`"${metric}"`), metric);
    for (const w of widgets) assert.equal(w.properties.period, 3600);
  });

  test("Parquet objects over 128 KB move to Standard-IA after 30 days, and never to Glacier", async () => {
    await build();
    const [lifecycle] = ofType("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration");
    const rules = lifecycle.inputs.rules.filter((r: { filter: any }) => JSON.stringify(r.filter).includes("tables/"));
    assert.deepEqual(rules, [{
      id: "tables-to-infrequent-access",
      status: "Enabled",
      filter: { and: { prefix: "tables/", objectSizeGreaterThan: 131072 } },
      transitions: [{ days: 30, storageClass: "STANDARD_IA" }],
    }]);
    // The events rule is as it was.
    const events = lifecycle.inputs.rules.find((r: { id: string }) => r.id === "events-to-cheaper-storage");
    assert.deepEqual(events.transitions.map((t: { storageClass: string }) => t.storageClass), ["STANDARD_IA", "GLACIER_IR"]);
  });
});

describe("the named queries", () => {
  /** A temporary queries folder holding `files` (name to content). */
  function queriesDir(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "queries-"));
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    return dir;
  }

  const REVENUE = "-- Revenue per hour of placed, accepted orders, by currency\nSELECT 1\nFROM order_events;\n";
  const REJECTED = "-- Rejected orders per day and reason\r\nSELECT reason, count(*) FROM order_events GROUP BY reason;\r\n";

  test("each .sql file is a query named after the file, described by its first line, sorted by file name", () => {
    const dir = queriesDir({ "revenue_per_hour.sql": REVENUE, "rejections_by_reason.sql": REJECTED, "README.md": "not a query", "notes.sql.bak": "x" });
    fs.mkdirSync(path.join(dir, "drafts.sql"));
    assert.deepEqual(loadQueries(dir), [
      { name: "rejections_by_reason", description: "Rejected orders per day and reason", query: REJECTED },
      { name: "revenue_per_hour", description: "Revenue per hour of placed, accepted orders, by currency", query: REVENUE },
    ]);
  });

  test("a file without a leading '-- <purpose>' line is an error naming it (and every other such file)", () => {
    const dir = queriesDir({
      "good.sql": REVENUE,
      "bare.sql": "SELECT 1;\n",
      "late.sql": "\n-- a purpose on the second line\nSELECT 1;\n",
      "nospace.sql": "--Revenue\nSELECT 1;\n",
      "empty_purpose.sql": "-- \nSELECT 1;\n",
      "block.sql": "/* Revenue */\nSELECT 1;\n",
    });
    assert.throws(() => loadQueries(dir), (error: Error) => {
      for (const file of ["bare.sql", "late.sql", "nospace.sql", "empty_purpose.sql", "block.sql"]) {
        assert.ok(error.message.includes(`${path.join(dir, file)} must start with a line '-- <one-line purpose>'`), `${file}: ${error.message}`);
      }
      assert.ok(!error.message.includes("good.sql"), error.message);
      return true;
    });
  });

  test("a purpose longer than Athena's 1024 characters is an error naming the file; 1024 is fine", () => {
    const long = queriesDir({ "long.sql": `-- ${"x".repeat(1025)}\nSELECT 1;\n` });
    assert.throws(() => loadQueries(long), new RegExp(`long\\.sql: its purpose line is 1025 characters, more than the 1024 Athena takes`));
    const fits = queriesDir({ "fits.sql": `-- ${"x".repeat(1024)}\nSELECT 1;\n` });
    assert.equal(loadQueries(fits)[0].description.length, 1024);
  });

  test("no folder is no queries; an empty one too", () => {
    assert.deepEqual(loadQueries(path.join(os.tmpdir(), "no-such-queries-folder")), []);
    assert.deepEqual(loadQueries(queriesDir({})), []);
  });

  test("each is an Athena named query in the archive's workgroup and database", async () => {
    const pipeline = await build();
    recorded.length = 0;
    const dir = queriesDir({ "revenue_per_hour.sql": REVENUE, "rejections_by_reason.sql": REJECTED });
    const queries = createNamedQueries(context(testConfig()), pipeline.archive, dir);
    await settle();
    assert.equal(queries.length, 2);
    const workgroup = await value(pipeline.archive.workgroup.name);
    const database = await value(pipeline.archive.database.name);
    assert.equal(workgroup, "orders-analytics");
    assert.equal(database, "orders_analytics");
    assert.deepEqual(ofType(NAMED_QUERY).map((q) => [q.name, q.inputs]), [
      ["orders-named-query-rejections_by_reason", {
        name: "rejections_by_reason", description: "Rejected orders per day and reason", query: REJECTED, database, workgroup,
      }],
      ["orders-named-query-revenue_per_hour", {
        name: "revenue_per_hour", description: "Revenue per hour of placed, accepted orders, by currency", query: REVENUE, database, workgroup,
      }],
    ]);
  });

  test("the pipeline makes one per file of analytics/queries/, whatever is there at deploy time", async () => {
    const pipeline = await build();
    const expected = loadQueries(QUERIES_DIR);
    assert.equal(pipeline.namedQueries.length, expected.length);
    assert.deepEqual(ofType(NAMED_QUERY).map((q) => q.inputs.name).sort(), expected.map((q) => q.name).sort());
  });
});
