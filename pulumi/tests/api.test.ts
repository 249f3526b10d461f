// The API's deployment and its account-wide logging role, asserted offline with Pulumi's mocks:
// a change to anything the stage serves makes a new deployment, and the account's CloudWatch
// role for API Gateway is set only by a stack told to (manageApiGatewayAccount).
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import * as pulumi from "@pulumi/pulumi";

import { ACCOUNT, REGION, Recorded, SERVICE_URLS, ofType, one, recorded, setStackConfig, settle, testConfig, value } from "./mocks";
import { ApiDefinition, ApiReferences, ResolvedApiDefinition, apiDefinition, triggersOf } from "../src/api";
import { defaults, load, validate } from "../src/config";
import { createPipeline, Pipeline } from "../src/pipeline";
import * as templates from "../src/templates";
import { DATA_ACTION } from "../policy/policies";

beforeEach(() => {
  recorded.length = 0;
});

async function build(overrides = {}): Promise<Pipeline> {
  const pipeline = createPipeline(testConfig(overrides));
  await settle();
  return pipeline;
}

const REFS: ApiReferences = {
  region: REGION,
  streamName: "orders",
  putRoleArn: `arn:aws:iam::${ACCOUNT}:role/orders-api-put-orders`,
  queryInvokeArn: `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:${REGION}:${ACCOUNT}:function:orders-query/invocations`,
  userPoolArn: `arn:aws:cognito-idp:${REGION}:${ACCOUNT}:userpool/${REGION}_abc`,
};

/** The definition with its outputs settled, as the triggers hash it. */
function settled(definition: ApiDefinition): Promise<ResolvedApiDefinition> {
  return value(pulumi.output(definition)) as Promise<ResolvedApiDefinition>;
}

type Part = keyof ApiDefinition;
const PARTS: Part[] = ["paths", "authorizer", "validator", "models", "routes", "gatewayResponses"];

function route(d: ResolvedApiDefinition, id: string) {
  const found = d.routes.find((r) => r.id === id);
  assert.ok(found, `no route ${id}`);
  return found;
}

function integrationResponse(d: ResolvedApiDefinition, routeId: string, suffix: string) {
  const found = route(d, routeId).integrationResponses.find((r) => r.suffix === suffix);
  assert.ok(found, `no integration response ${routeId}-${suffix}`);
  return found;
}

function gateway(d: ResolvedApiDefinition, responseType: string) {
  const found = d.gatewayResponses.find((r) => r.responseType === responseType);
  assert.ok(found, `no gateway response ${responseType}`);
  return found;
}

function model(d: ResolvedApiDefinition, name: string) {
  const found = d.models.find((m) => m.name === name);
  assert.ok(found, `no model ${name}`);
  return found;
}

/**
 * Makes `change` to a copy of `base` and asserts that it changes the deployment's trigger for
 * `part`, and no other trigger.
 */
function assertRedeploys(base: ResolvedApiDefinition, part: Part, what: string, change: (d: ResolvedApiDefinition) => void) {
  const changed = structuredClone(base);
  change(changed);
  assert.notDeepEqual(changed, base, `${what}: the change changed nothing`);
  const before = triggersOf(base);
  const after = triggersOf(changed);
  assert.notEqual(after[part], before[part], `${what} does not change the deployment's ${part} trigger`);
  for (const other of PARTS.filter((p) => p !== part)) assert.equal(after[other], before[other], `${what}: ${other}`);
}

/** `inputs` without the keys that only point at other resources of the API. */
function own(inputs: Record<string, any>, references: string[]): Record<string, any> {
  return Object.fromEntries(Object.entries(inputs).filter(([k]) => !references.includes(k)));
}

describe("the API's deployment", () => {
  test("its triggers hash the very definition every method, integration, response, model and gateway response is made from", async () => {
    const pipeline = await build();
    const definition = await settled(pipeline.api.definition);
    const [deployment] = ofType("aws:apigateway/deployment:Deployment");
    assert.equal(ofType("aws:apigateway/deployment:Deployment").length, 1);
    assert.deepEqual(deployment.inputs.triggers, triggersOf(definition));
    assert.deepEqual(Object.keys(deployment.inputs.triggers).sort(), [...PARTS].sort());
    for (const trigger of Object.values(deployment.inputs.triggers)) assert.match(trigger as string, /^[0-9a-f]{64}$/);

    // The definition is of the real stack: its templates, models, stream, role and Lambda.
    assert.equal(integrationResponse(definition, "post-order", "ok").responseTemplates["application/json"], templates.putOrderAccepted());
    assert.equal(integrationResponse(definition, "post-batch", "ok").responseTemplates["application/json"], templates.putOrdersBatchResults());
    assert.equal(integrationResponse(definition, "post-order", "failed").responseTemplates["application/json"], templates.kinesisError());
    assert.equal(route(definition, "post-order").integration.requestTemplates!["application/json"], templates.putOrderRequest("orders"));
    assert.equal(route(definition, "post-batch").integration.requestTemplates!["application/json"], templates.putOrdersBatchRequest("orders"));
    assert.equal(model(definition, "OrderRequest").schema, JSON.stringify(templates.orderSchema()));
    assert.equal(model(definition, "OrderBatch").schema, JSON.stringify(templates.batchSchema()));
    const putRole = one("aws:iam/role:Role", "orders-api-put-orders");
    assert.equal(route(definition, "post-order").integration.credentials, putRole.state.arn);
    assert.equal(route(definition, "get-order").integration.uri, await value(pipeline.api.query.fn.invokeArn));

    // Every API Gateway resource the stage serves is one of the definition's, made from it alone:
    // one made any other way would not be in the triggers.
    // The mocks record resources in no set order.
    const names = (type: string) => ofType(type).map((r: Recorded) => r.name).sort();
    const sorted = (list: string[]) => [...list].sort();
    assert.deepEqual(names("aws:apigateway/resource:Resource"), sorted(definition.paths.map((p) => `orders-${p.id}`)));
    for (const path of definition.paths) {
      const parent = path.parent === undefined ? "orders-api-root" : `orders-${path.parent}-id`;
      assert.deepEqual(one("aws:apigateway/resource:Resource", `orders-${path.id}`).inputs,
        { restApi: "orders-api-id", parentId: parent, pathPart: path.pathPart });
    }
    const { id: authorizerId, ...authorizer } = definition.authorizer;
    assert.deepEqual(own(one("aws:apigateway/authorizer:Authorizer", `orders-${authorizerId}`).inputs, ["restApi"]), authorizer);
    assert.equal(ofType("aws:apigateway/authorizer:Authorizer").length, 1);
    const { id: validatorId, ...validator } = definition.validator;
    assert.deepEqual(own(one("aws:apigateway/requestValidator:RequestValidator", `orders-${validatorId}`).inputs, ["restApi"]), validator);
    assert.equal(ofType("aws:apigateway/requestValidator:RequestValidator").length, 1);
    assert.deepEqual(names("aws:apigateway/model:Model"), sorted(definition.models.map((m) => `orders-${m.id}`)));
    for (const { id, ...args } of definition.models) {
      assert.deepEqual(own(one("aws:apigateway/model:Model", `orders-${id}`).inputs, ["restApi"]), args);
    }

    assert.deepEqual(names("aws:apigateway/method:Method"), sorted(definition.routes.map((r) => `orders-${r.id}`)));
    assert.deepEqual(names("aws:apigateway/integration:Integration"), sorted(definition.routes.map((r) => `orders-${r.id}`)));
    assert.deepEqual(names("aws:apigateway/methodResponse:MethodResponse"),
      definition.routes.flatMap((r) => r.methodResponses.map((m) => `orders-${r.id}-${m.statusCode}`)).sort());
    assert.deepEqual(names("aws:apigateway/integrationResponse:IntegrationResponse"),
      definition.routes.flatMap((r) => r.integrationResponses.map((i) => `orders-${r.id}-${i.suffix}`)).sort());
    for (const r of definition.routes) {
      const resourceId = `orders-${r.path}-id`;
      const method = one("aws:apigateway/method:Method", `orders-${r.id}`).inputs;
      assert.deepEqual(own(method, ["restApi", "resourceId", "authorizerId", "requestValidatorId"]), {
        httpMethod: r.httpMethod,
        authorization: r.authorization,
        ...(r.requestModels ? { requestModels: r.requestModels } : {}),
        ...(r.requestParameters ? { requestParameters: r.requestParameters } : {}),
      }, r.id);
      assert.equal(method.resourceId, resourceId, r.id);
      assert.equal(method.authorizerId, `orders-${authorizerId}-id`, r.id);
      assert.equal(method.requestValidatorId, `orders-${validatorId}-id`, r.id);
      const integration = one("aws:apigateway/integration:Integration", `orders-${r.id}`).inputs;
      assert.deepEqual(own(integration, ["restApi", "resourceId", "httpMethod"]), r.integration, r.id);
      assert.deepEqual([integration.resourceId, integration.httpMethod], [resourceId, r.httpMethod], r.id);
      for (const m of r.methodResponses) {
        const inputs = one("aws:apigateway/methodResponse:MethodResponse", `orders-${r.id}-${m.statusCode}`).inputs;
        assert.deepEqual(own(inputs, ["restApi", "resourceId", "httpMethod"]), m, `${r.id} ${m.statusCode}`);
      }
      for (const { suffix, ...i } of r.integrationResponses) {
        const inputs = one("aws:apigateway/integrationResponse:IntegrationResponse", `orders-${r.id}-${suffix}`).inputs;
        assert.deepEqual(own(inputs, ["restApi", "resourceId", "httpMethod"]), i, `${r.id} ${suffix}`);
      }
    }
    assert.deepEqual(names("aws:apigateway/response:Response"),
      sorted(definition.gatewayResponses.map((g) => `orders-gateway-${g.responseType.toLowerCase()}`)));
    for (const g of definition.gatewayResponses) {
      const inputs = one("aws:apigateway/response:Response", `orders-gateway-${g.responseType.toLowerCase()}`).inputs;
      assert.deepEqual(own(inputs, ["restApiId"]), g, g.responseType);
    }
  });

  test("a change to any template redeploys: the requests, the accepted and batch results answers, the Kinesis error", async () => {
    const base = await settled(apiDefinition(REFS));
    const json = "application/json";
    assertRedeploys(base, "routes", "the accepted template", (d) => {
      integrationResponse(d, "post-order", "ok").responseTemplates[json] += "\n## changed";
    });
    assertRedeploys(base, "routes", "the batch results template", (d) => {
      integrationResponse(d, "post-batch", "ok").responseTemplates[json] += "\n## changed";
    });
    for (const id of ["post-order", "post-batch"]) {
      assertRedeploys(base, "routes", `${id}'s Kinesis error template`, (d) => {
        integrationResponse(d, id, "failed").responseTemplates[json] += "\n## changed";
      });
      assertRedeploys(base, "routes", `${id}'s request template`, (d) => {
        route(d, id).integration.requestTemplates![json] += "\n## changed";
      });
    }
    // The stream name is written into the request templates at deploy time.
    const otherStream = triggersOf(await settled(apiDefinition({ ...REFS, streamName: "orders-2" })));
    assert.notEqual(otherStream.routes, triggersOf(base).routes);
  });

  test("a change to a gateway response's template, status or headers redeploys, as does one more or one fewer", async () => {
    const base = await settled(apiDefinition(REFS));
    assert.deepEqual(base.gatewayResponses.map((g) => g.responseType),
      ["BAD_REQUEST_BODY", "UNAUTHORIZED", "REQUEST_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "THROTTLED", "DEFAULT_5XX"]);
    for (const { responseType } of base.gatewayResponses) {
      assertRedeploys(base, "gatewayResponses", `${responseType}'s template`, (d) => {
        gateway(d, responseType).responseTemplates["application/json"] = '{"title":"changed"}';
      });
      assertRedeploys(base, "gatewayResponses", `${responseType}'s status`, (d) => {
        gateway(d, responseType).statusCode = "418";
      });
      assertRedeploys(base, "gatewayResponses", `${responseType}'s Content-Type`, (d) => {
        gateway(d, responseType).responseParameters["gatewayresponse.header.Content-Type"] = "'application/json'";
      });
      assertRedeploys(base, "gatewayResponses", `a header on ${responseType}`, (d) => {
        gateway(d, responseType).responseParameters["gatewayresponse.header.Cache-Control"] = "'no-store'";
      });
    }
    assertRedeploys(base, "gatewayResponses", "THROTTLED taking API Gateway's own status", (d) => {
      delete gateway(d, "THROTTLED").statusCode;
    });
    assertRedeploys(base, "gatewayResponses", "one more gateway response", (d) => {
      d.gatewayResponses.push({ ...structuredClone(gateway(d, "UNAUTHORIZED")), responseType: "ACCESS_DENIED", statusCode: "403" });
    });
    assertRedeploys(base, "gatewayResponses", "one fewer gateway response", (d) => {
      d.gatewayResponses.pop();
    });
  });

  test("a change to a model redeploys", async () => {
    const base = await settled(apiDefinition(REFS));
    for (const name of ["OrderRequest", "OrderBatch"]) {
      assertRedeploys(base, "models", `${name}'s schema`, (d) => {
        const schema = JSON.parse(model(d, name).schema);
        model(d, name).schema = JSON.stringify({ ...schema, additionalProperties: true });
      });
      assertRedeploys(base, "models", `${name}'s content type`, (d) => {
        model(d, name).contentType = "application/vnd.orders+json";
      });
    }
  });

  test("a change to a method or its method responses redeploys, as does one more route", async () => {
    const base = await settled(apiDefinition(REFS));
    for (const r of base.routes) {
      assertRedeploys(base, "routes", `${r.id}'s authorization`, (d) => {
        route(d, r.id).authorization = "NONE";
      });
      assertRedeploys(base, "routes", `${r.id}'s request parameters`, (d) => {
        route(d, r.id).requestParameters = { ...route(d, r.id).requestParameters, "method.request.header.X-Trace": true };
      });
      assertRedeploys(base, "routes", `${r.id}'s path`, (d) => {
        route(d, r.id).path = r.path === "orders" ? "order" : "orders";
      });
    }
    assertRedeploys(base, "routes", "post-order's request model", (d) => {
      route(d, "post-order").requestModels = { "application/json": "OrderBatch" };
    });
    assertRedeploys(base, "routes", "a method response's headers", (d) => {
      route(d, "post-batch").methodResponses[0].responseParameters["method.response.header.Location"] = false;
    });
    assertRedeploys(base, "routes", "one more method response", (d) => {
      route(d, "post-order").methodResponses.push({ statusCode: "500", responseParameters: {} });
    });
    assertRedeploys(base, "routes", "one more route", (d) => {
      d.routes.push({ ...structuredClone(route(d, "get-order")), id: "delete-order", httpMethod: "DELETE" });
    });
  });

  test("a change to an integration or its integration responses redeploys, and so do a new Lambda, role or stream", async () => {
    const base = await settled(apiDefinition(REFS));
    assertRedeploys(base, "routes", "post-order's passthrough", (d) => {
      route(d, "post-order").integration.passthroughBehavior = "WHEN_NO_TEMPLATES";
    });
    assertRedeploys(base, "routes", "post-batch's integration header", (d) => {
      route(d, "post-batch").integration.requestParameters!["integration.request.header.Content-Type"] = "'application/json'";
    });
    assertRedeploys(base, "routes", "get-orders' integration type", (d) => {
      route(d, "get-orders").integration.type = "AWS";
    });
    assertRedeploys(base, "routes", "the Kinesis errors' selection pattern", (d) => {
      integrationResponse(d, "post-order", "failed").selectionPattern = "5\\d{2}";
    });
    assertRedeploys(base, "routes", "the accepted answer's status", (d) => {
      integrationResponse(d, "post-order", "ok").statusCode = "200";
    });
    assertRedeploys(base, "routes", "the Kinesis errors' Retry-After", (d) => {
      integrationResponse(d, "post-batch", "failed").responseParameters["method.response.header.Retry-After"] = "'5'";
    });
    const triggers = triggersOf(base);
    for (const ref of ["queryInvokeArn", "putRoleArn", "region"] as const) {
      const other = triggersOf(await settled(apiDefinition({ ...REFS, [ref]: `${REFS[ref]}-2` })));
      assert.notEqual(other.routes, triggers.routes, ref);
    }
    const otherPool = triggersOf(await settled(apiDefinition({ ...REFS, userPoolArn: `${REFS.userPoolArn}-2` })));
    assert.notEqual(otherPool.authorizer, triggers.authorizer);
  });

  test("a change to a path, the authorizer or the validator redeploys", async () => {
    const base = await settled(apiDefinition(REFS));
    assertRedeploys(base, "paths", "a path part", (d) => {
      d.paths[1].pathPart = "orders-batch";
    });
    assertRedeploys(base, "authorizer", "the authorizer's identity source", (d) => {
      d.authorizer.identitySource = "method.request.header.X-Token";
    });
    assertRedeploys(base, "validator", "the validator", (d) => {
      d.validator.validateRequestParameters = false;
    });
  });

  test("every value in the definition is in the triggers: changing any one of them changes them", async () => {
    const base = await settled(apiDefinition(REFS));
    const before = JSON.stringify(triggersOf(base));
    let leaves = 0;
    function visit(node: any, path: (string | number)[]) {
      for (const [key, child] of Object.entries(node)) {
        if (child !== null && typeof child === "object") {
          visit(child, [...path, key]);
          continue;
        }
        const changed: any = structuredClone(base);
        let at = changed;
        for (const step of path) at = at[step];
        at[key] = typeof child === "string" ? `${child}~` : typeof child === "number" ? child + 1 : !child;
        assert.notEqual(JSON.stringify(triggersOf(changed)), before, [...path, key].join("."));
        leaves++;
      }
    }
    visit(base, []);
    assert.ok(leaves >= 60, `${leaves}`);
  });
});

describe("the account's CloudWatch role for API Gateway", () => {
  const ACCOUNT_TYPE = "aws:apigateway/account:Account";

  test("by default the stack sets no account settings and makes no role for them, and the stage still writes access logs", async () => {
    const pipeline = await build();
    assert.equal(defaults.manageApiGatewayAccount, false);
    assert.deepEqual(ofType(ACCOUNT_TYPE), []);
    assert.equal(pipeline.api.account, undefined);
    assert.ok(!ofType("aws:iam/role:Role").some((r) => r.inputs.name === "orders-api-logs"));
    // The only role API Gateway may assume is the one it puts records with.
    const apigateway = ofType("aws:iam/role:Role")
      .filter((r) => JSON.parse(r.inputs.assumeRolePolicy).Statement[0].Principal.Service === "apigateway.amazonaws.com");
    assert.deepEqual(apigateway.map((r) => r.inputs.name), ["orders-api-put-orders"]);
    const [stage] = ofType("aws:apigateway/stage:Stage");
    assert.equal(stage.inputs.accessLogSettings.destinationArn, await value(pipeline.api.accessLogs.arn));
  });

  test("manageApiGatewayAccount: exactly one account setting, with a role API Gateway alone assumes, writing to API Gateway's log groups only", async () => {
    const pipeline = await build(validate(testConfig({ manageApiGatewayAccount: true })));
    const accounts = ofType(ACCOUNT_TYPE);
    assert.equal(accounts.length, 1);
    assert.equal(accounts[0].name, "orders-api-account");
    const role = one("aws:iam/role:Role", "orders-api-logs");
    assert.equal(accounts[0].inputs.cloudwatchRoleArn, role.state.arn);
    assert.equal(await value(pipeline.api.account!.cloudwatchRoleArn), role.state.arn);
    const trust = JSON.parse(role.inputs.assumeRolePolicy).Statement;
    assert.deepEqual(trust, [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }]);

    const policy = one("aws:iam/rolePolicy:RolePolicy", "orders-api-logs");
    assert.equal(policy.inputs.role, "orders-api-logs");
    const statements: { Action: string[]; Resource: string[] }[] = JSON.parse(policy.inputs.policy).Statement;
    const logGroups = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/apigateway/*`;
    assert.deepEqual(statements.map((s) => [s.Action, s.Resource]), [
      [["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], [logGroups]],
      [["logs:DescribeLogGroups"], ["*"]],
    ]);
    for (const s of statements) {
      for (const action of s.Action) assert.ok(!(DATA_ACTION.test(action) && s.Resource.includes("*")), action);
    }
    // This stack's access logs are among the log groups it may write to, and so are any other
    // stack's of this program in the account and region, which log through the same setting.
    assert.match(await value(pipeline.api.accessLogs.name), /^\/aws\/apigateway\//);
    const [stage] = ofType("aws:apigateway/stage:Stage");
    assert.equal(stage.inputs.accessLogSettings.destinationArn, await value(pipeline.api.accessLogs.arn));
  });

  test("manageApiGatewayAccount is validated like the other keys: true or false, false by default, read from the stack's config", () => {
    assert.throws(
      () => validate(testConfig({ manageApiGatewayAccount: "yes" as unknown as boolean, shardCount: 0 })),
      (error: Error) => error.message.includes("manageApiGatewayAccount 'yes' must be true or false") && error.message.includes("shardCount 0"),
    );
    assert.doesNotThrow(() => validate(testConfig({ manageApiGatewayAccount: true })));
    assert.doesNotThrow(() => validate(testConfig({ manageApiGatewayAccount: false })));
    try {
      setStackConfig(SERVICE_URLS);
      assert.equal(load().manageApiGatewayAccount, false);
      setStackConfig({ ...SERVICE_URLS, manageApiGatewayAccount: "true" });
      assert.equal(load().manageApiGatewayAccount, true);
      setStackConfig({ ...SERVICE_URLS, manageApiGatewayAccount: "false" });
      assert.equal(load().manageApiGatewayAccount, false);
      for (const bad of ["yes", "1", "TRUE", ""]) {
        setStackConfig({ ...SERVICE_URLS, manageApiGatewayAccount: bad });
        assert.throws(() => load(), (error: Error) => error.message.includes(`manageApiGatewayAccount '${bad}' must be true or false`), bad);
      }
    } finally {
      setStackConfig(SERVICE_URLS);
    }
  });
});
