// The orders API: API Gateway (REST) with a Cognito user pool authorizer. POST /orders and
// POST /orders:batch go straight to Kinesis (no Lambda per order) through the mapping templates
// in ingest/api-gateway/; GET /orders and GET /orders/{orderId} go to the Rust query Lambda.
// What the stage serves is written once, as data (apiDefinition): the API's resources are made
// from it, and the deployment's triggers are its hash, so a change to any of it is deployed.
import * as crypto from "node:crypto";

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { Context, serviceRole } from "./context";
import { RustLambda, rustLambda } from "./lambdas";
import * as templates from "./templates";

/** The Rust binary behind the GET endpoints. */
export const QUERY_LAMBDA_BINARY = "orders-query-lambda";
export const STAGE = "v1";

/** One JSON line per request: what ops and the 429-rate metric read. */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  requestTime: "$context.requestTimeEpoch",
  ip: "$context.identity.sourceIp",
  method: "$context.httpMethod",
  resource: "$context.resourcePath",
  status: "$context.status",
  responseLength: "$context.responseLength",
  latencyMs: "$context.responseLatency",
  integrationStatus: "$context.integration.status",
  integrationLatencyMs: "$context.integration.latency",
  errorType: "$context.error.responseType",
  customer: "$context.authorizer.claims.sub",
  xrayTraceId: "$context.xrayTraceId",
});

export interface Api {
  restApi: aws.apigateway.RestApi;
  stage: aws.apigateway.Stage;
  userPool: aws.cognito.UserPool;
  userPoolClient: aws.cognito.UserPoolClient;
  /** The app client `verify-stack` signs in with (admin password sign-in), only when `verifierClient` is set. */
  verifierClient?: aws.cognito.UserPoolClient;
  accessLogs: aws.cloudwatch.LogGroup;
  query: RustLambda;
  url: pulumi.Output<string>;
  /** What the stage serves: the API's resources are made from it, and its deployment's triggers hash it. */
  definition: ApiDefinition;
  /** The account's API Gateway settings (its CloudWatch role), only when `manageApiGatewayAccount` is set. */
  account?: aws.apigateway.Account;
}

export interface ApiResources {
  stream: aws.kinesis.Stream;
  key: aws.kms.Key;
  ordersTable: aws.dynamodb.Table;
  ordersByCustomerIndex: string;
}

/** A path part; under the root, or under the path whose id is `parent`. Made as `<prefix>-<id>`. */
export interface PathSpec {
  id: string;
  pathPart: string;
  parent?: string;
}

/** The Cognito authorizer every method uses. Made as `<prefix>-<id>`. */
export interface AuthorizerSpec {
  id: string;
  name: string;
  type: string;
  providerArns: pulumi.Input<string>[];
  identitySource: string;
}

/** The request validator every method uses. Made as `<prefix>-<id>`. */
export interface ValidatorSpec {
  id: string;
  name: string;
  validateRequestBody: boolean;
  validateRequestParameters: boolean;
}

/** A request model. Made as `<prefix>-<id>`. */
export interface ModelSpec {
  id: string;
  name: string;
  contentType: string;
  /** The JSON Schema, as API Gateway is given it. */
  schema: string;
}

export interface IntegrationSpec {
  type: string;
  integrationHttpMethod: string;
  uri: pulumi.Input<string>;
  credentials?: pulumi.Input<string>;
  passthroughBehavior?: string;
  requestParameters?: Record<string, string>;
  requestTemplates?: Record<string, pulumi.Input<string>>;
}

/** Made as `<prefix>-<route id>-<statusCode>`. */
export interface MethodResponseSpec {
  statusCode: string;
  responseParameters: Record<string, boolean>;
}

/** Made as `<prefix>-<route id>-<suffix>`. */
export interface IntegrationResponseSpec {
  suffix: string;
  statusCode: string;
  selectionPattern?: string;
  responseTemplates: Record<string, string>;
  responseParameters: Record<string, string>;
}

/** One method on one path, its integration and their responses. The method is made as `<prefix>-<id>`. */
export interface RouteSpec {
  id: string;
  /** The id of the PathSpec it is on. */
  path: string;
  httpMethod: string;
  authorization: string;
  /** Content type to a ModelSpec's name. */
  requestModels?: Record<string, string>;
  requestParameters?: Record<string, boolean>;
  integration: IntegrationSpec;
  methodResponses: MethodResponseSpec[];
  integrationResponses: IntegrationResponseSpec[];
}

/** An error API Gateway answers itself. Made as `<prefix>-gateway-<responseType in lower case>`. */
export interface GatewayResponseSpec {
  responseType: string;
  /** Absent: API Gateway's own status for the error. */
  statusCode?: string;
  responseTemplates: Record<string, string>;
  responseParameters: Record<string, string>;
}

/**
 * Everything the stage serves. API Gateway serves a snapshot taken when a deployment is made, so
 * each of these needs a new deployment to reach callers: every top-level key here is one of the
 * deployment's triggers (redeploymentTriggers), and createApi makes the API's resources from
 * nothing else.
 */
export interface ApiDefinition {
  paths: PathSpec[];
  authorizer: AuthorizerSpec;
  validator: ValidatorSpec;
  models: ModelSpec[];
  routes: RouteSpec[];
  gatewayResponses: GatewayResponseSpec[];
}

/** The definition with every output settled: what the triggers hash. */
export type ResolvedApiDefinition = pulumi.Unwrap<ApiDefinition>;

/** What the definition refers to outside the API's own resources. */
export interface ApiReferences {
  region: pulumi.Input<string>;
  streamName: pulumi.Input<string>;
  /** The role API Gateway puts records on the stream with. */
  putRoleArn: pulumi.Input<string>;
  queryInvokeArn: pulumi.Input<string>;
  userPoolArn: pulumi.Input<string>;
}

/** The headers a problem answer may carry. */
const PROBLEM_HEADERS = {
  "method.response.header.Content-Type": false,
  "method.response.header.Retry-After": false,
};

/** A POST that puts its body on the stream: `success.status` with `success.template` when Kinesis took it. */
function kinesisPost(
  id: string,
  path: string,
  action: "PutRecord" | "PutRecords",
  model: string,
  refs: ApiReferences,
  requestTemplate: pulumi.Input<string>,
  success: { status: string; template: string },
): RouteSpec {
  return {
    id,
    path,
    httpMethod: "POST",
    authorization: "COGNITO_USER_POOLS",
    requestModels: { "application/json": model },
    integration: {
      type: "AWS",
      integrationHttpMethod: "POST",
      uri: pulumi.interpolate`arn:aws:apigateway:${refs.region}:kinesis:action/${action}`,
      credentials: refs.putRoleArn,
      // Only JSON has a template: anything else is refused with 415, never passed through.
      passthroughBehavior: "NEVER",
      requestParameters: { "integration.request.header.Content-Type": "'application/x-amz-json-1.1'" },
      requestTemplates: { "application/json": requestTemplate },
    },
    methodResponses: [success.status, "429", "503"].map((statusCode) => ({ statusCode, responseParameters: PROBLEM_HEADERS })),
    integrationResponses: [
      {
        suffix: "ok",
        statusCode: success.status,
        responseTemplates: { "application/json": success.template },
        responseParameters: { "method.response.header.Content-Type": "'application/json'" },
      },
      // Any Kinesis error: never a 200, never AWS's text. The template turns throttling into 429.
      {
        suffix: "failed",
        statusCode: "503",
        selectionPattern: "4\\d{2}|5\\d{2}",
        responseTemplates: { "application/json": templates.kinesisError() },
        responseParameters: {
          "method.response.header.Content-Type": "'application/problem+json'",
          "method.response.header.Retry-After": "'1'",
        },
      },
    ],
  };
}

/** A GET answered by the query Lambda through a proxy integration. */
function queryGet(id: string, path: string, requestParameters: Record<string, boolean>, refs: ApiReferences): RouteSpec {
  return {
    id,
    path,
    httpMethod: "GET",
    authorization: "COGNITO_USER_POOLS",
    requestParameters,
    integration: { type: "AWS_PROXY", integrationHttpMethod: "POST", uri: refs.queryInvokeArn },
    methodResponses: [],
    integrationResponses: [],
  };
}

/** An error API Gateway answers itself, in the local gateway's problem format. */
function gatewayResponse(
  responseType: string,
  statusCode: string | undefined,
  problem: { type: string; title: string; status: number; detail: string },
  retry: boolean,
): GatewayResponseSpec {
  const body = `{"type":"${problem.type}","title":"${problem.title}","status":${problem.status},"detail":${problem.detail}}`;
  return {
    responseType,
    ...(statusCode === undefined ? {} : { statusCode }),
    responseTemplates: { "application/json": body },
    responseParameters: {
      "gatewayresponse.header.Content-Type": "'application/problem+json'",
      ...(retry ? { "gatewayresponse.header.Retry-After": "'1'" } : {}),
    },
  };
}

/** The orders API as data: every path, method, integration, template, model and gateway response. */
export function apiDefinition(refs: ApiReferences): ApiDefinition {
  const message = "$context.error.messageString";
  return {
    paths: [
      { id: "orders", pathPart: "orders" },
      { id: "orders-batch", pathPart: "orders:batch" },
      { id: "order", pathPart: "{orderId}", parent: "orders" },
    ],
    authorizer: {
      id: "customers",
      name: "customers",
      type: "COGNITO_USER_POOLS",
      providerArns: [refs.userPoolArn],
      identitySource: "method.request.header.Authorization",
    },
    validator: { id: "validate-body", name: "body-and-parameters", validateRequestBody: true, validateRequestParameters: true },
    models: [
      { id: "order-model", name: "OrderRequest", contentType: "application/json", schema: JSON.stringify(templates.orderSchema()) },
      { id: "batch-model", name: "OrderBatch", contentType: "application/json", schema: JSON.stringify(templates.batchSchema()) },
    ],
    routes: [
      kinesisPost("post-order", "orders", "PutRecord", "OrderRequest", refs,
        pulumi.output(refs.streamName).apply(templates.putOrderRequest),
        { status: "202", template: templates.putOrderAccepted() }),
      kinesisPost("post-batch", "orders-batch", "PutRecords", "OrderBatch", refs,
        pulumi.output(refs.streamName).apply(templates.putOrdersBatchRequest),
        { status: "200", template: templates.putOrdersBatchResults() }),
      queryGet("get-orders", "orders", { "method.request.querystring.limit": false, "method.request.querystring.nextToken": false }, refs),
      queryGet("get-order", "order", { "method.request.path.orderId": true }, refs),
    ],
    // Type, title and status from the one list the local gateway is checked against.
    gatewayResponses: [
      gatewayResponse("BAD_REQUEST_BODY", "400",
        { ...templates.problem("invalid-order"), detail: '"$context.error.validationErrorString"' }, false),
      gatewayResponse("UNAUTHORIZED", "401", { ...templates.problem("unauthenticated"), detail: message }, false),
      gatewayResponse("REQUEST_TOO_LARGE", "413", { ...templates.problem("too-large"), detail: message }, false),
      gatewayResponse("UNSUPPORTED_MEDIA_TYPE", "415", { ...templates.problem("unsupported-media-type"), detail: message }, false),
      gatewayResponse("THROTTLED", "429", { ...templates.problem("throttled"), detail: message }, true),
      gatewayResponse("DEFAULT_5XX", undefined, { ...templates.problem("unavailable"), detail: message }, true),
    ],
  };
}

/** One trigger per part of the settled definition: the SHA-256 of its JSON. */
export function triggersOf(definition: ResolvedApiDefinition): Record<string, string> {
  return Object.fromEntries(Object.entries(definition).map(([part, spec]) => [
    part,
    crypto.createHash("sha256").update(JSON.stringify(spec)).digest("hex"),
  ]));
}

/** The deployment's triggers: a change to anything in the definition makes a new deployment. */
export function redeploymentTriggers(definition: ApiDefinition): pulumi.Output<Record<string, string>> {
  return pulumi.output(definition).apply((resolved) => triggersOf(resolved as ResolvedApiDefinition));
}

/**
 * The account's API Gateway settings: the CloudWatch role API Gateway writes every stage's logs
 * with, one per account and region. It may write to API Gateway's log groups in this account and
 * region (every stack of this program logs under /aws/apigateway/), so the stacks that do not
 * manage the setting log through it too. Destroying the stack that manages it removes it.
 */
function apiGatewayAccount(ctx: Context): aws.apigateway.Account {
  const { role, policy } = serviceRole(ctx, "api-logs", "apigateway.amazonaws.com", [
    {
      actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
      resources: [pulumi.interpolate`arn:aws:logs:${ctx.region}:${ctx.accountId}:log-group:/aws/apigateway/*`],
    },
    { actions: ["logs:DescribeLogGroups"], resources: ["*"] },
  ]);
  return new aws.apigateway.Account(ctx.name("api-account"), { cloudwatchRoleArn: role.arn }, { dependsOn: [policy] });
}

export function createApi(ctx: Context, { stream, key, ordersTable, ordersByCustomerIndex }: ApiResources): Api {
  const { config } = ctx;

  const userPool = new aws.cognito.UserPool(ctx.name("customers"), {
    name: ctx.name("customers"),
    usernameAttributes: ["email"],
    autoVerifiedAttributes: ["email"],
    passwordPolicy: {
      minimumLength: 12,
      requireLowercase: true,
      requireUppercase: true,
      requireNumbers: true,
      requireSymbols: false,
      temporaryPasswordValidityDays: 3,
    },
    mfaConfiguration: "OPTIONAL",
    softwareTokenMfaConfiguration: { enabled: true },
    accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
    deletionProtection: config.production ? "ACTIVE" : "INACTIVE",
    tags: ctx.tags,
  }, { protect: config.production });
  const userPoolClient = new aws.cognito.UserPoolClient(ctx.name("storefront"), {
    name: ctx.name("storefront"),
    userPoolId: userPool.id,
    generateSecret: false,
    explicitAuthFlows: ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    preventUserExistenceErrors: "ENABLED",
    enableTokenRevocation: true,
    idTokenValidity: 60,
    accessTokenValidity: 60,
    refreshTokenValidity: 30,
    tokenValidityUnits: { idToken: "minutes", accessToken: "minutes", refreshToken: "days" },
  });
  // verify-stack signs a throwaway user in with AdminInitiateAuth (ADMIN_USER_PASSWORD_AUTH): only
  // on a stack told to (verifierClient), as whoever may call AdminSetUserPassword and
  // AdminInitiateAuth on the pool can then sign in as any of its users. Short-lived tokens: a run takes minutes.
  const verifierClient = config.verifierClient
    ? new aws.cognito.UserPoolClient(ctx.name("verifier"), {
      name: ctx.name("verifier"),
      userPoolId: userPool.id,
      generateSecret: false,
      // Cognito refuses a client without the refresh flow ("REFRESH_TOKEN_AUTH should always be allowed").
      explicitAuthFlows: ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
      preventUserExistenceErrors: "ENABLED",
      enableTokenRevocation: true,
      idTokenValidity: 5,
      accessTokenValidity: 5,
      refreshTokenValidity: 1,
      tokenValidityUnits: { idToken: "minutes", accessToken: "minutes", refreshToken: "days" },
    })
    : undefined;

  // API Gateway may only put records on this stream.
  const { role: putRole, policy: putPolicy } = serviceRole(ctx, "api-put-orders", "apigateway.amazonaws.com", [
    { actions: ["kinesis:PutRecord", "kinesis:PutRecords"], resources: [stream.arn] },
    { actions: ["kms:GenerateDataKey"], resources: [key.arn] },
  ]);
  // The read side: a Rust Lambda behind a proxy integration.
  const query = rustLambda(ctx, "query", QUERY_LAMBDA_BINARY, [
    { actions: ["dynamodb:GetItem", "dynamodb:BatchGetItem"], resources: [ordersTable.arn] },
    { actions: ["dynamodb:Query"], resources: [pulumi.interpolate`${ordersTable.arn}/index/${ordersByCustomerIndex}`] },
    { actions: ["kms:Decrypt"], resources: [key.arn] },
  ], { ORDERS_TABLE_NAME: ordersTable.name });

  const definition = apiDefinition({
    region: ctx.region,
    streamName: stream.name,
    putRoleArn: putRole.arn,
    queryInvokeArn: query.fn.invokeArn,
    userPoolArn: userPool.arn,
  });

  // From here to the deployment, every resource is made from the definition, and nothing else.
  const restApi = new aws.apigateway.RestApi(ctx.name("api"), {
    name: ctx.name("api"),
    description: "Orders API: POST orders straight onto the orders stream; GET a customer's orders",
    endpointConfiguration: { types: "REGIONAL" },
    tags: ctx.tags,
  });
  const { id: authorizerId, ...authorizerArgs } = definition.authorizer;
  const authorizer = new aws.apigateway.Authorizer(ctx.name(authorizerId), { restApi: restApi.id, ...authorizerArgs });
  const { id: validatorId, ...validatorArgs } = definition.validator;
  const validator = new aws.apigateway.RequestValidator(ctx.name(validatorId), { restApi: restApi.id, ...validatorArgs });
  const models = new Map(definition.models.map(({ id, ...args }) =>
    [args.name, new aws.apigateway.Model(ctx.name(id), { restApi: restApi.id, ...args })]));
  const paths = new Map<string, aws.apigateway.Resource>();
  for (const { id, pathPart, parent } of definition.paths) {
    const parentId = parent === undefined ? restApi.rootResourceId : paths.get(parent)?.id;
    if (parentId === undefined) throw new Error(`path ${id}: its parent ${parent} must be defined before it`);
    paths.set(id, new aws.apigateway.Resource(ctx.name(id), { restApi: restApi.id, parentId, pathPart }));
  }

  const deployed: pulumi.Resource[] = [];
  for (const route of definition.routes) {
    const resource = paths.get(route.path);
    if (resource === undefined) throw new Error(`route ${route.id}: no path ${route.path}`);
    const requestModels = route.requestModels && Object.fromEntries(Object.entries(route.requestModels).map(([contentType, name]) => {
      const model = models.get(name);
      if (model === undefined) throw new Error(`route ${route.id}: no model ${name}`);
      return [contentType, model.name];
    }));
    const method = new aws.apigateway.Method(ctx.name(route.id), {
      restApi: restApi.id,
      resourceId: resource.id,
      httpMethod: route.httpMethod,
      authorization: route.authorization,
      authorizerId: authorizer.id,
      requestValidatorId: validator.id,
      ...(requestModels ? { requestModels } : {}),
      ...(route.requestParameters ? { requestParameters: route.requestParameters } : {}),
    });
    const integration = new aws.apigateway.Integration(ctx.name(route.id), {
      restApi: restApi.id,
      resourceId: resource.id,
      httpMethod: method.httpMethod,
      ...route.integration,
    }, { dependsOn: route.integration.credentials === undefined ? [] : [putPolicy] });
    const methodResponses = route.methodResponses.map((response) =>
      new aws.apigateway.MethodResponse(ctx.name(`${route.id}-${response.statusCode}`), {
        restApi: restApi.id,
        resourceId: resource.id,
        httpMethod: method.httpMethod,
        ...response,
      }));
    const integrationResponses = route.integrationResponses.map(({ suffix, ...response }) =>
      new aws.apigateway.IntegrationResponse(ctx.name(`${route.id}-${suffix}`), {
        restApi: restApi.id,
        resourceId: resource.id,
        httpMethod: method.httpMethod,
        ...response,
      }, { dependsOn: [integration, ...methodResponses] }));
    deployed.push(method, integration, ...methodResponses, ...integrationResponses);
  }
  new aws.lambda.Permission(ctx.name("api-invokes-query"), {
    action: "lambda:InvokeFunction",
    function: query.fn.name,
    principal: "apigateway.amazonaws.com",
    sourceArn: pulumi.interpolate`${restApi.executionArn}/*/GET/orders*`,
  });
  for (const response of definition.gatewayResponses) {
    deployed.push(new aws.apigateway.Response(ctx.name(`gateway-${response.responseType.toLowerCase()}`), {
      restApiId: restApi.id,
      ...response,
    }));
  }

  const deployment = new aws.apigateway.Deployment(ctx.name("api"), {
    restApi: restApi.id,
    // API Gateway serves what was deployed: a change to any method, integration, template,
    // model or gateway response reaches callers only through a new deployment.
    triggers: redeploymentTriggers(definition),
  }, { dependsOn: deployed });

  const accessLogs = new aws.cloudwatch.LogGroup(ctx.name("api-access-logs"), {
    name: `/aws/apigateway/${ctx.name("api")}/access`,
    retentionInDays: config.logRetentionDays,
    tags: ctx.tags,
  });
  // Access logs are written with the account's CloudWatch role for API Gateway, one per account
  // and region. Not this stack's to own unless told (manageApiGatewayAccount): otherwise it must
  // already be set (docs/deploy.md), or the stage is refused.
  const account = config.manageApiGatewayAccount ? apiGatewayAccount(ctx) : undefined;

  const stage = new aws.apigateway.Stage(ctx.name("api"), {
    restApi: restApi.id,
    deployment: deployment.id,
    stageName: STAGE,
    xrayTracingEnabled: true,
    accessLogSettings: { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT },
    tags: ctx.tags,
  }, { dependsOn: account ? [account] : [] });
  // Lambda traces every batch it is sampled for; API Gateway follows this rule instead of
  // X-Ray's default, which would trace most orders of a quiet shop.
  new aws.xray.SamplingRule(ctx.name("api"), {
    ruleName: ctx.name("api"),
    priority: 1000,
    version: 1,
    reservoirSize: 0,
    fixedRate: config.traceSampleRate,
    serviceName: pulumi.interpolate`${restApi.name}/${STAGE}`,
    serviceType: "AWS::ApiGateway::Stage",
    host: "*",
    httpMethod: "*",
    urlPath: "*",
    resourceArn: "*",
    tags: ctx.tags,
  });
  new aws.apigateway.MethodSettings(ctx.name("api"), {
    restApi: restApi.id,
    stageName: stage.stageName,
    methodPath: "*/*",
    settings: {
      throttlingRateLimit: config.apiRateLimit,
      throttlingBurstLimit: config.apiBurstLimit,
      metricsEnabled: true,
      // Execution logs are billed per line; the access log says what ops need.
      loggingLevel: "OFF",
      dataTraceEnabled: false,
    },
  });
  new aws.apigateway.UsagePlan(ctx.name("api"), {
    name: ctx.name("api"),
    description: "Ceiling for every caller of the stage; attach partner API keys here for their own quota",
    apiStages: [{ apiId: restApi.id, stage: stage.stageName }],
    throttleSettings: { rateLimit: config.apiRateLimit, burstLimit: config.apiBurstLimit },
    tags: ctx.tags,
  });

  return {
    restApi, stage, userPool, userPoolClient, accessLogs, query, url: stage.invokeUrl, definition, account,
    ...(verifierClient ? { verifierClient } : {}),
  };
}
