// The API Gateway mapping templates, assembled from ingest/api-gateway/ (the API's artefacts live
// next to the contract they implement). A line `##@include <file>` is replaced by that file, so
// the envelope is written once for PutRecord and PutRecords; the stream name is fixed in the
// template at deploy time, never taken from the request.
import * as fs from "node:fs";
import * as path from "node:path";

/** Where the API's contract artefacts live: schema, mapping templates, shared test vectors. */
export const API_DIR = path.resolve(__dirname, "../../ingest/api-gateway");
/** The request body schema, the same file the local gateway validates with. */
export const ORDER_SCHEMA_FILE = path.resolve(__dirname, "../../ingest/schema/order-request.schema.json");

function read(file: string): string {
  return fs.readFileSync(path.join(API_DIR, file), "utf8");
}

function assemble(file: string): string {
  return read(file).replace(/^##@include (\S+)\n/gm, (_, included: string) => read(included));
}

function withStream(template: string, streamName: string): string {
  if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(streamName)) {
    throw new Error(`'${streamName}' is not a Kinesis stream name`);
  }
  return template.replaceAll("@@STREAM_NAME@@", streamName);
}

/** POST /orders: the PutRecord request. */
export function putOrderRequest(streamName: string): string {
  return withStream(assemble("put-order.vtl"), streamName);
}

/** POST /orders:batch: the PutRecords request. */
export function putOrdersBatchRequest(streamName: string): string {
  return withStream(assemble("put-orders-batch.vtl"), streamName);
}

/** PutRecord succeeded: 202 with the event id. */
export const putOrderAccepted = (): string => read("put-order-accepted.vtl");
/** PutRecords answered: 200 with a result per order. */
export const putOrdersBatchResults = (): string => read("put-orders-batch-results.vtl");
/** Kinesis refused: 429 when throttled, else 503, with the local gateway's problem body. */
export const kinesisError = (): string => read("kinesis-error.vtl");

/** JSON Schema draft 4 of one order, for the POST /orders model. */
export function orderSchema(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(ORDER_SCHEMA_FILE, "utf8"));
}

/** The POST /orders:batch model: {"orders": [1..500 orders]}, built from the same schema. */
export function batchSchema(): Record<string, unknown> {
  const { $schema, definitions, title: _title, description: _description, ...order } = orderSchema();
  return {
    $schema,
    title: "OrderBatch",
    description: "Body of POST /orders:batch: 1 to 500 orders, each an OrderRequest.",
    type: "object",
    additionalProperties: false,
    required: ["orders"],
    properties: { orders: { type: "array", minItems: 1, maxItems: 500, items: order } },
    definitions,
  };
}

/** A problem API Gateway answers itself, as ingest/api-gateway/problems.json (the local gateway's) has it. */
export function problem(name: string): { type: string; title: string; status: number } {
  const listed = JSON.parse(read("problems.json")).problems[name];
  if (!listed) throw new Error(`problems.json has no problem "${name}"`);
  return { type: listed.type, title: listed.title, status: listed.status };
}
