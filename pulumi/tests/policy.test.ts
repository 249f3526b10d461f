import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { ResourceValidationArgs } from "@pulumi/policy";

import { recorded, settle, testConfig } from "./mocks";
import { createPipeline } from "../src/pipeline";
import { policies } from "../policy/policies";

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
    const validators = [policy.validateResource ?? []].flat();
    for (const validate of validators) {
      // validateResourceOfType tags its validator with the type it applies to.
      if ((validate as { __pulumiType?: string }).__pulumiType !== type) continue;
      await validate(args, (message: string) => found.push(`${policy.name}: ${message}`));
    }
  }
  return found;
}

test("every resource of the pipeline passes the security policies", async () => {
  createPipeline(testConfig());
  await settle();
  assert.ok(recorded.length >= 50);
  for (const resource of recorded) {
    assert.deepEqual(await violations(resource.type, resource.inputs), [], resource.name);
  }
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

test("an untraced Lambda and an unencrypted topic are refused", async () => {
  assert.equal((await violations("aws:lambda/function:Function", { role: "r", tracingConfig: { mode: "PassThrough" } })).length, 1);
  assert.equal((await violations("aws:sns/topic:Topic", { name: "t" })).length, 1);
});
