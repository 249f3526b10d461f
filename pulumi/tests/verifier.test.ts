// The app client verify-stack signs in with, asserted offline with Pulumi's mocks: made only on a
// stack told to (verifierClient), with admin password sign-in alone, no secret and short-lived
// tokens, and exported as verifierClientId; a stack without it has the storefront's client only.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import * as pulumi from "@pulumi/pulumi";

import { Recorded, SERVICE_URLS, ofType, one, recorded, setStackConfig, settle, testConfig, value } from "./mocks";
import { PipelineConfig, defaults, load, validate } from "../src/config";
import { createPipeline, Pipeline } from "../src/pipeline";

beforeEach(() => {
  recorded.length = 0;
});

const CLIENT = "aws:cognito/userPoolClient:UserPoolClient";
const POOL = "aws:cognito/userPool:UserPool";

async function build(overrides: Partial<PipelineConfig> = {}): Promise<Pipeline> {
  const pipeline = createPipeline(validate(testConfig(overrides)));
  await settle();
  return pipeline;
}

/**
 * The stack outputs index.ts exports, from a fresh run of it (as `pulumi up` runs it) over the
 * stack config `config`, with Lambda packages that exist.
 */
async function stackOutputs(config: Record<string, string>): Promise<Record<string, unknown>> {
  setStackConfig({ ...SERVICE_URLS, lambdaPackageDir: testConfig().lambdaPackageDir, ...config });
  try {
    const entry = require.resolve("../index");
    delete require.cache[entry];
    const outputs = require(entry) as Record<string, unknown>;
    await settle();
    return outputs;
  } finally {
    setStackConfig(SERVICE_URLS);
  }
}

function clientNames(): string[] {
  return ofType(CLIENT).map((r: Recorded) => r.name).sort();
}

describe("the verifier app client", () => {
  test("by default the stack has the storefront's app client only, and no verifier client", async () => {
    assert.equal(defaults.verifierClient, false);
    const pipeline = await build();
    assert.deepEqual(clientNames(), ["orders-storefront"]);
    assert.ok(!("verifierClient" in pipeline.api), "the Api has a verifierClient field");
    assert.ok(!ofType(CLIENT).some((r) => r.inputs.explicitAuthFlows.includes("ALLOW_ADMIN_USER_PASSWORD_AUTH")));
  });

  test("verifierClient: a second app client, admin password sign-in only, no secret, 5-minute tokens", async () => {
    const pipeline = await build({ verifierClient: true });
    assert.deepEqual(clientNames(), ["orders-storefront", "orders-verifier"]);
    const verifier = one(CLIENT, "orders-verifier");
    assert.equal(verifier.inputs.name, "orders-verifier");
    assert.equal(verifier.inputs.userPoolId, `${one(POOL, "orders-customers").name}-id`);
    assert.deepEqual(verifier.inputs.explicitAuthFlows, ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]);
    assert.equal(verifier.inputs.generateSecret, false);
    assert.equal(verifier.inputs.preventUserExistenceErrors, "ENABLED");
    assert.equal(verifier.inputs.enableTokenRevocation, true);
    // No hosted UI, no OAuth: nothing but the admin flow signs in with it.
    for (const key of ["allowedOauthFlows", "allowedOauthFlowsUserPoolClient", "callbackUrls", "supportedIdentityProviders"]) {
      assert.equal(verifier.inputs[key], undefined, key);
    }
    assert.equal(verifier.inputs.idTokenValidity, 5);
    assert.equal(verifier.inputs.accessTokenValidity, 5);
    assert.equal(verifier.inputs.refreshTokenValidity, 1);
    assert.deepEqual(verifier.inputs.tokenValidityUnits, { idToken: "minutes", accessToken: "minutes", refreshToken: "days" });
    assert.equal(await value(pipeline.api.verifierClient!.id), "orders-verifier-id");

    // The storefront's client is as it was.
    const storefront = one(CLIENT, "orders-storefront");
    assert.deepEqual(storefront.inputs.explicitAuthFlows, ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]);
    assert.equal(storefront.inputs.idTokenValidity, 60);
    assert.equal(await value(pipeline.api.userPoolClient.id), "orders-storefront-id");
  });

  test("index.ts exports verifierClientId: the verifier client's id with verifierClient, undefined without", async () => {
    const off = await stackOutputs({});
    assert.ok("userPoolClientId" in off);
    assert.equal(off.verifierClientId, undefined);
    assert.deepEqual(clientNames(), ["orders-storefront"]);

    recorded.length = 0;
    const on = await stackOutputs({ verifierClient: "true" });
    assert.ok(pulumi.Output.isInstance(on.verifierClientId));
    assert.equal(await value(on.verifierClientId as pulumi.Output<string>), "orders-verifier-id");
    assert.equal(await value(on.userPoolClientId as pulumi.Output<string>), "orders-storefront-id");
    assert.deepEqual(clientNames(), ["orders-storefront", "orders-verifier"]);
  });

  test("verifierClient is validated like the other keys: true or false, false by default, read from the stack's config", () => {
    assert.throws(
      () => validate(testConfig({ verifierClient: "yes" as unknown as boolean, shardCount: 0 })),
      (error: Error) => error.message.includes("verifierClient 'yes' must be true or false") && error.message.includes("shardCount 0"),
    );
    assert.doesNotThrow(() => validate(testConfig({ verifierClient: true })));
    assert.doesNotThrow(() => validate(testConfig({ verifierClient: false })));
    try {
      setStackConfig(SERVICE_URLS);
      assert.equal(load().verifierClient, false);
      setStackConfig({ ...SERVICE_URLS, verifierClient: "true" });
      assert.equal(load().verifierClient, true);
      setStackConfig({ ...SERVICE_URLS, verifierClient: "false" });
      assert.equal(load().verifierClient, false);
      for (const bad of ["yes", "1", "TRUE", ""]) {
        setStackConfig({ ...SERVICE_URLS, verifierClient: bad });
        assert.throws(() => load(), (error: Error) => error.message.includes(`verifierClient '${bad}' must be true or false`), bad);
      }
    } finally {
      setStackConfig(SERVICE_URLS);
    }
  });
});
