// The API Gateway mapping templates, rendered by a VTL engine with API Gateway's $input, $util
// and $context, against the shared vectors the local gateway's code writes
// (ingest/api-gateway/vectors.json): the same inputs must give byte for byte the same records.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

import { apiDefinition } from "../src/api";
import * as templates from "../src/templates";
import { Request, renderTemplate, requestTime } from "./vtl";

interface StreamRecord {
  partitionKey: string;
  data: string;
}

interface Vector extends Request {
  name: string;
  batch: boolean;
  expected: StreamRecord | StreamRecord[] | null;
}

const vectors: Vector[] = JSON.parse(
  fs.readFileSync(path.join(templates.API_DIR, "vectors.json"), "utf8"),
).cases;
const STREAM = "orders-test";

function kinesisRequest(vector: Vector) {
  const template = vector.batch ? templates.putOrdersBatchRequest(STREAM) : templates.putOrderRequest(STREAM);
  return JSON.parse(renderTemplate(template, vector).output);
}

const decode = (data: string) => Buffer.from(data, "base64");

describe("request templates against the shared vectors", () => {
  it("cover accepted orders, a batch and requests without a customer", () => {
    assert.ok(vectors.filter((v) => v.expected !== null && !v.batch).length >= 4);
    assert.ok(vectors.some((v) => v.batch && v.expected !== null));
    assert.ok(vectors.some((v) => v.expected === null && !("sub" in v.claims)));
    assert.ok(vectors.some((v) => v.name.startsWith("malicious body")));
  });

  for (const vector of vectors.filter((v) => !v.batch)) {
    it(`PutRecord: ${vector.name}`, () => {
      const request = kinesisRequest(vector);
      assert.equal(request.StreamName, STREAM);
      const expected = vector.expected as StreamRecord | null;
      if (expected === null) {
        // Kinesis refuses an empty partition key: nothing reaches the stream.
        assert.equal(request.PartitionKey, "");
        assert.equal(request.Data, "");
      } else {
        assert.equal(request.PartitionKey, expected.partitionKey);
        assert.deepEqual(decode(request.Data), Buffer.from(expected.data, "utf8"));
      }
    });
  }

  for (const vector of vectors.filter((v) => v.batch)) {
    it(`PutRecords: ${vector.name}`, () => {
      const request = kinesisRequest(vector);
      assert.equal(request.StreamName, STREAM);
      const expected = (vector.expected ?? []) as StreamRecord[];
      // No records is a request Kinesis refuses (1 to 500 records).
      assert.equal(request.Records.length, expected.length);
      request.Records.forEach((record: { PartitionKey: string; Data: string }, i: number) => {
        assert.equal(record.PartitionKey, expected[i].partitionKey);
        assert.deepEqual(decode(record.Data), Buffer.from(expected[i].data, "utf8"));
      });
    });
  }

  it("the record's time is the same whether API Gateway hands the epoch over as a number or a string", () => {
    for (const vector of vectors.filter((v) => !v.batch && v.expected !== null)) {
      const asNumber = kinesisRequest(vector);
      const asString = kinesisRequest({ ...vector, requestTimeEpoch: String(vector.requestTimeEpoch) });
      assert.deepEqual(decode(asString.Data), decode(asNumber.Data), vector.name);
      assert.match(decode(asString.Data).toString("utf8"), /"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/, vector.name);
    }
  });

  it("a body cannot choose the customer or the stream", () => {
    const vector = vectors.find((v) => v.name.startsWith("malicious body"))!;
    const request = kinesisRequest(vector);
    const envelope = JSON.parse(decode(request.Data).toString("utf8"));
    assert.equal(envelope.customerid, vector.claims.sub);
    assert.equal(envelope.data.customerId, vector.claims.sub);
    assert.equal(request.StreamName, STREAM);
    assert.ok(!("x" in envelope.data), "injected field");
  });

  it("fixes the stream name at deploy time and refuses one that is not a stream name", () => {
    assert.ok(!templates.putOrderRequest("orders-a").includes("@@STREAM_NAME@@"));
    assert.throws(() => templates.putOrderRequest('orders","x":"y'), /not a Kinesis stream name/);
  });

  it("formats $context.requestTime as API Gateway does", () => {
    assert.equal(requestTime(Date.UTC(2026, 0, 5, 3, 4, 5, 678)), "05/Jan/2026:03:04:05 +0000");
  });
});

describe("response templates", () => {
  const request: Request = { body: "", claims: {}, requestId: "req-1", requestTimeEpoch: 0 };
  const secret = "arn:aws:kms:eu-west-1:123456789012:key/secret-detail";

  it("answers an accepted order with its event id", () => {
    const answer = JSON.parse(renderTemplate(templates.putOrderAccepted(), request, '{"SequenceNumber":"1","ShardId":"s"}').output);
    assert.deepEqual(answer, { status: "accepted", eventId: "req-1" });
  });

  it("answers a batch per entry: 202, 429 for throttled entries, 503 for the rest, without AWS's text", () => {
    const putRecords = JSON.stringify({
      FailedRecordCount: 2,
      Records: [
        { SequenceNumber: "1", ShardId: "shardId-0" },
        { ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: `Rate exceeded for ${secret}` },
        { ErrorCode: "InternalFailure", ErrorMessage: secret },
      ],
    });
    const rendered = renderTemplate(templates.putOrdersBatchResults(), request, putRecords).output;
    assert.ok(!rendered.includes("secret-detail"));
    const answer = JSON.parse(rendered);
    assert.equal(answer.accepted, 1);
    assert.equal(answer.rejected, 2);
    assert.deepEqual(answer.results.map((r: { status: number }) => r.status), [202, 429, 503]);
    assert.equal(answer.results[0].eventId, "req-1-0");
    assert.equal(answer.results[1].problem.type, "/problems/throttled");
    assert.equal(answer.results[2].problem.type, "/problems/unavailable");
  });

  for (const [type, status, problem] of [
    ["ProvisionedThroughputExceededException", 429, "/problems/throttled"],
    ["KMSThrottlingException", 429, "/problems/throttled"],
    ["AccessDeniedException", undefined, "/problems/unavailable"],
    ["ResourceNotFoundException", undefined, "/problems/unavailable"],
    ["ValidationException", undefined, "/problems/unavailable"],
  ] as const) {
    it(`maps Kinesis ${type} to ${status ?? "503 (the default)"} without AWS's text`, () => {
      const rendered = renderTemplate(templates.kinesisError(), request, JSON.stringify({ __type: type, message: secret }));
      assert.equal(rendered.status, status);
      assert.ok(!rendered.output.includes("secret-detail"));
      assert.equal(JSON.parse(rendered.output).type, problem);
    });
  }
});

describe("request models", () => {
  it("the batch model holds 1 to 500 orders of the order model, with its definitions", () => {
    const batch = templates.batchSchema() as any;
    const order = templates.orderSchema() as any;
    assert.equal(batch.$schema, "http://json-schema.org/draft-04/schema#");
    assert.deepEqual(batch.properties.orders.items.properties, order.properties);
    assert.deepEqual(batch.definitions, order.definitions);
    assert.equal(batch.properties.orders.maxItems, 500);
    assert.equal(batch.additionalProperties, false);
  });
});

describe("problems API Gateway answers itself", () => {
  it("have the local gateway's type, title and status (ingest/api-gateway/problems.json)", () => {
    const listed = JSON.parse(fs.readFileSync(path.join(templates.API_DIR, "problems.json"), "utf8")).problems;
    const definition = apiDefinition({
      region: "us-east-1",
      streamName: STREAM,
      putRoleArn: "arn:aws:iam::000000000000:role/api",
      queryInvokeArn: "arn:aws:apigateway:us-east-1:lambda:path/query",
      userPoolArn: "arn:aws:cognito-idp:us-east-1:000000000000:userpool/pool",
    });
    const seen = new Set<string>();
    for (const response of definition.gatewayResponses) {
      const body = JSON.parse(
        (response.responseTemplates as Record<string, string>)["application/json"]
          // API Gateway fills these in: as a quoted value, or one that is a JSON string already.
          .replace(/"\$context\.error\.[A-Za-z]+"/g, '"x"')
          .replace(/\$context\.error\.[A-Za-z]+/g, '"x"'),
      );
      const entry = Object.values(listed).find((p: any) => p.type === body.type) as any;
      assert.ok(entry, `${response.responseType}: ${body.type} is not in problems.json`);
      assert.equal(body.title, entry.title, response.responseType);
      assert.equal(body.status, entry.status, response.responseType);
      seen.add(body.type);
    }
    assert.equal(seen.size, Object.keys(listed).length, "every listed problem is answered");
  });
});
