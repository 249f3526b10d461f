import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { ResourceValidationArgs } from "@pulumi/policy";

import { recorded, settle } from "./mocks";
import { defaults } from "../src/config";
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
  createPipeline(defaults);
  await settle();
  assert.ok(recorded.length >= 5);
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
