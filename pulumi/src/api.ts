// The orders API: API Gateway (REST) with a Cognito user pool authorizer. POST /orders and
// POST /orders:batch go straight to Kinesis (no Lambda per order) through the mapping templates
// in ingest/api-gateway/; GET /orders and GET /orders/{orderId} go to the Rust query Lambda.
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
  accessLogs: aws.cloudwatch.LogGroup;
  query: RustLambda;
  url: pulumi.Output<string>;
}

export interface ApiResources {
  stream: aws.kinesis.Stream;
  key: aws.kms.Key;
  ordersTable: aws.dynamodb.Table;
  ordersByCustomerIndex: string;
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

  const restApi = new aws.apigateway.RestApi(ctx.name("api"), {
    name: ctx.name("api"),
    description: "Orders API: POST orders straight onto the orders stream; GET a customer's orders",
    endpointConfiguration: { types: "REGIONAL" },
    tags: ctx.tags,
  });
  const authorizer = new aws.apigateway.Authorizer(ctx.name("customers"), {
    restApi: restApi.id,
    name: "customers",
    type: "COGNITO_USER_POOLS",
    providerArns: [userPool.arn],
    identitySource: "method.request.header.Authorization",
  });
  const validator = new aws.apigateway.RequestValidator(ctx.name("validate-body"), {
    restApi: restApi.id,
    name: "body-and-parameters",
    validateRequestBody: true,
    validateRequestParameters: true,
  });
  const orderModel = new aws.apigateway.Model(ctx.name("order-model"), {
    restApi: restApi.id,
    name: "OrderRequest",
    contentType: "application/json",
    schema: JSON.stringify(templates.orderSchema()),
  });
  const batchModel = new aws.apigateway.Model(ctx.name("batch-model"), {
    restApi: restApi.id,
    name: "OrderBatch",
    contentType: "application/json",
    schema: JSON.stringify(templates.batchSchema()),
  });

  // API Gateway may only put records on this stream.
  const { role: putRole, policy: putPolicy } = serviceRole(ctx, "api-put-orders", "apigateway.amazonaws.com", [
    { actions: ["kinesis:PutRecord", "kinesis:PutRecords"], resources: [stream.arn] },
    { actions: ["kms:GenerateDataKey"], resources: [key.arn] },
  ]);

  const orders = new aws.apigateway.Resource(ctx.name("orders"), { restApi: restApi.id, parentId: restApi.rootResourceId, pathPart: "orders" });
  const batch = new aws.apigateway.Resource(ctx.name("orders-batch"), { restApi: restApi.id, parentId: restApi.rootResourceId, pathPart: "orders:batch" });
  const order = new aws.apigateway.Resource(ctx.name("order"), { restApi: restApi.id, parentId: orders.id, pathPart: "{orderId}" });

  const deployed: pulumi.Resource[] = [];
  const problemHeaders = {
    "method.response.header.Content-Type": false,
    "method.response.header.Retry-After": false,
  };

  function kinesisPost(
    id: string,
    resource: aws.apigateway.Resource,
    action: "PutRecord" | "PutRecords",
    model: aws.apigateway.Model,
    requestTemplate: pulumi.Input<string>,
    success: { status: string; template: string },
  ) {
    const method = new aws.apigateway.Method(ctx.name(id), {
      restApi: restApi.id,
      resourceId: resource.id,
      httpMethod: "POST",
      authorization: "COGNITO_USER_POOLS",
      authorizerId: authorizer.id,
      requestValidatorId: validator.id,
      requestModels: { "application/json": model.name },
    });
    const integration = new aws.apigateway.Integration(ctx.name(id), {
      restApi: restApi.id,
      resourceId: resource.id,
      httpMethod: method.httpMethod,
      type: "AWS",
      integrationHttpMethod: "POST",
      uri: pulumi.interpolate`arn:aws:apigateway:${ctx.region}:kinesis:action/${action}`,
      credentials: putRole.arn,
      // Only JSON has a template: anything else is refused with 415, never passed through.
      passthroughBehavior: "NEVER",
      requestParameters: { "integration.request.header.Content-Type": "'application/x-amz-json-1.1'" },
      requestTemplates: { "application/json": requestTemplate },
    }, { dependsOn: [putPolicy] });
    const responses = [success.status, "429", "503"].map((statusCode) =>
      new aws.apigateway.MethodResponse(ctx.name(`${id}-${statusCode}`), {
        restApi: restApi.id,
        resourceId: resource.id,
        httpMethod: method.httpMethod,
        statusCode,
        responseParameters: problemHeaders,
      }));
    const ok = new aws.apigateway.IntegrationResponse(ctx.name(`${id}-ok`), {
      restApi: restApi.id,
      resourceId: resource.id,
      httpMethod: method.httpMethod,
      statusCode: success.status,
      responseTemplates: { "application/json": success.template },
      responseParameters: { "method.response.header.Content-Type": "'application/json'" },
    }, { dependsOn: [integration, ...responses] });
    // Any Kinesis error: never a 200, never AWS's text. The template turns throttling into 429.
    const failed = new aws.apigateway.IntegrationResponse(ctx.name(`${id}-failed`), {
      restApi: restApi.id,
      resourceId: resource.id,
      httpMethod: method.httpMethod,
      statusCode: "503",
      selectionPattern: "4\\d{2}|5\\d{2}",
      responseTemplates: { "application/json": templates.kinesisError() },
      responseParameters: {
        "method.response.header.Content-Type": "'application/problem+json'",
        "method.response.header.Retry-After": "'1'",
      },
    }, { dependsOn: [integration, ...responses] });
    deployed.push(method, integration, ...responses, ok, failed);
    return integration;
  }

  kinesisPost("post-order", orders, "PutRecord", orderModel, stream.name.apply(templates.putOrderRequest), {
    status: "202",
    template: templates.putOrderAccepted(),
  });
  kinesisPost("post-batch", batch, "PutRecords", batchModel, stream.name.apply(templates.putOrdersBatchRequest), {
    status: "200",
    template: templates.putOrdersBatchResults(),
  });

  // The read side: a Rust Lambda behind a proxy integration.
  const query = rustLambda(ctx, "query", QUERY_LAMBDA_BINARY, [
    { actions: ["dynamodb:GetItem", "dynamodb:BatchGetItem"], resources: [ordersTable.arn] },
    { actions: ["dynamodb:Query"], resources: [pulumi.interpolate`${ordersTable.arn}/index/${ordersByCustomerIndex}`] },
    { actions: ["kms:Decrypt"], resources: [key.arn] },
  ], { ORDERS_TABLE_NAME: ordersTable.name });
  for (const [id, resource, parameters] of [
    ["get-orders", orders, { "method.request.querystring.limit": false, "method.request.querystring.nextToken": false }],
    ["get-order", order, { "method.request.path.orderId": true }],
  ] as const) {
    const method = new aws.apigateway.Method(ctx.name(id), {
      restApi: restApi.id,
      resourceId: resource.id,
      httpMethod: "GET",
      authorization: "COGNITO_USER_POOLS",
      authorizerId: authorizer.id,
      requestValidatorId: validator.id,
      requestParameters: parameters,
    });
    const integration = new aws.apigateway.Integration(ctx.name(id), {
      restApi: restApi.id,
      resourceId: resource.id,
      httpMethod: method.httpMethod,
      type: "AWS_PROXY",
      integrationHttpMethod: "POST",
      uri: query.fn.invokeArn,
    });
    deployed.push(method, integration);
  }
  new aws.lambda.Permission(ctx.name("api-invokes-query"), {
    action: "lambda:InvokeFunction",
    function: query.fn.name,
    principal: "apigateway.amazonaws.com",
    sourceArn: pulumi.interpolate`${restApi.executionArn}/*/GET/orders*`,
  });

  // Errors API Gateway answers itself, in the local gateway's problem format.
  const problem = (type: string, title: string, status: number, detail: string) =>
    `{"type":"${type}","title":"${title}","status":${status},"detail":${detail}}`;
  for (const [responseType, statusCode, body, retry] of [
    ["BAD_REQUEST_BODY", "400", problem("/problems/invalid-order", "Order is invalid", 400, '"$context.error.validationErrorString"'), false],
    ["UNAUTHORIZED", "401", problem("/problems/unauthenticated", "Authentication required", 401, "$context.error.messageString"), false],
    ["REQUEST_TOO_LARGE", "413", problem("/problems/too-large", "Body too large", 413, "$context.error.messageString"), false],
    ["UNSUPPORTED_MEDIA_TYPE", "415", problem("/problems/unsupported-media-type", "Body must be JSON", 415, "$context.error.messageString"), false],
    ["THROTTLED", "429", problem("/problems/throttled", "Too many orders right now", 429, "$context.error.messageString"), true],
    ["DEFAULT_5XX", undefined, problem("/problems/unavailable", "Orders cannot be accepted right now", 503, "$context.error.messageString"), true],
  ] as const) {
    deployed.push(new aws.apigateway.Response(ctx.name(`gateway-${responseType.toLowerCase()}`), {
      restApiId: restApi.id,
      responseType,
      statusCode,
      responseTemplates: { "application/json": body },
      responseParameters: {
        "gatewayresponse.header.Content-Type": "'application/problem+json'",
        ...(retry ? { "gatewayresponse.header.Retry-After": "'1'" } : {}),
      },
    }));
  }

  const accessLogs = new aws.cloudwatch.LogGroup(ctx.name("api-access-logs"), {
    name: `/aws/apigateway/${ctx.name("api")}/access`,
    retentionInDays: config.logRetentionDays,
    tags: ctx.tags,
  });
  // Account-wide: the role API Gateway writes logs with (it has one per account and region).
  const { role: cloudwatchRole } = serviceRole(ctx, "api-logs", "apigateway.amazonaws.com", [
    { actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], resources: [pulumi.interpolate`${accessLogs.arn}:*`] },
    { actions: ["logs:DescribeLogGroups"], resources: ["*"] },
  ]);
  const account = new aws.apigateway.Account(ctx.name("api-account"), { cloudwatchRoleArn: cloudwatchRole.arn });

  const deployment = new aws.apigateway.Deployment(ctx.name("api"), {
    restApi: restApi.id,
    // A new deployment whenever a template, model or route changes.
    triggers: {
      templates: JSON.stringify([templates.putOrderRequest("x"), templates.putOrdersBatchRequest("x"), templates.kinesisError()]),
      models: JSON.stringify([templates.orderSchema(), templates.batchSchema()]),
      routes: "POST /orders, POST /orders:batch, GET /orders, GET /orders/{orderId}",
    },
  }, { dependsOn: deployed });
  const stage = new aws.apigateway.Stage(ctx.name("api"), {
    restApi: restApi.id,
    deployment: deployment.id,
    stageName: STAGE,
    xrayTracingEnabled: true,
    accessLogSettings: { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT },
    tags: ctx.tags,
  }, { dependsOn: [account] });
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

  return { restApi, stage, userPool, userPoolClient, accessLogs, query, url: stage.invokeUrl };
}
