// The Rust Lambdas: built from this workspace by scripts/package-lambdas (cargo-lambda), run on
// provided.al2023 with their own role, log group and X-Ray tracing.
import * as fs from "node:fs";
import * as path from "node:path";

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { Context, Grant, XRAY_WRITE, serviceRole } from "./context";

export interface RustLambda {
  fn: aws.lambda.Function;
  role: aws.iam.Role;
  logGroup: aws.cloudwatch.LogGroup;
}

/** The zip cargo-lambda made for `binary`; a clear error if it has not been built. */
export function packagePath(ctx: Context, binary: string): string {
  const zip = path.join(ctx.config.lambdaPackageDir, binary, "bootstrap.zip");
  if (!fs.existsSync(zip)) {
    throw new Error(
      `${zip} does not exist: build the Lambdas first with ` +
        `scripts/package-lambdas --arch ${ctx.config.lambdaArchitecture} (see docs/deploy.md)`,
    );
  }
  return zip;
}

/** A Lambda's own size and concurrency, where it differs from the stack's (lambdaMemoryMb, lambdaTimeoutSeconds). */
export interface LambdaSizing {
  memoryMb?: number;
  timeoutSeconds?: number;
  /** Reserved concurrency: also the most instances that may run at once. Unset: none reserved, no cap. */
  reservedConcurrency?: number;
}

export function rustLambda(
  ctx: Context,
  name: string,
  binary: string,
  grants: Grant[],
  environment: Record<string, pulumi.Input<string>>,
  sizing: LambdaSizing = {},
): RustLambda {
  const functionName = ctx.name(name);
  // Created here, not by Lambda on first write, so that it has a retention and is deleted
  // with the stack.
  const logGroup = new aws.cloudwatch.LogGroup(`${functionName}-logs`, {
    name: `/aws/lambda/${functionName}`,
    retentionInDays: ctx.config.logRetentionDays,
    tags: ctx.tags,
  });
  const { role, policy } = serviceRole(ctx, name, "lambda.amazonaws.com", [
    ...grants,
    { actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [pulumi.interpolate`${logGroup.arn}:*`] },
    XRAY_WRITE,
  ]);
  const fn = new aws.lambda.Function(functionName, {
    name: functionName,
    runtime: "provided.al2023",
    handler: "bootstrap",
    architectures: [ctx.config.lambdaArchitecture],
    code: new pulumi.asset.FileArchive(packagePath(ctx, binary)),
    memorySize: sizing.memoryMb ?? ctx.config.lambdaMemoryMb,
    timeout: sizing.timeoutSeconds ?? ctx.config.lambdaTimeoutSeconds,
    reservedConcurrentExecutions: sizing.reservedConcurrency,
    role: role.arn,
    environment: { variables: environment },
    tracingConfig: { mode: ctx.config.lambdaTracing },
    loggingConfig: { logFormat: "JSON", logGroup: logGroup.name },
    tags: ctx.tags,
  }, { dependsOn: [logGroup, policy] });
  return { fn, role, logGroup };
}
