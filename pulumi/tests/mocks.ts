// Pulumi's in-process mocks: resources are recorded instead of created, so the program is
// tested offline, with no Pulumi CLI and no AWS credentials.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import * as pulumi from "@pulumi/pulumi";

import { ORDER_TABLES_LAMBDA_BINARY } from "../src/analytics";
import { QUERY_LAMBDA_BINARY } from "../src/api";
import { PipelineConfig, defaults } from "../src/config";
import { eventSources } from "../src/consumers";

export interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, any>;
  state: Record<string, any>;
  /** The resource's ignoreChanges option, as the program registered it ([] when none). */
  ignoreChanges: string[];
}

export const recorded: Recorded[] = [];
export const REGION = "eu-west-1";
export const ACCOUNT = "123456789012";
/** The VPC every subnet the tests name is in. */
export const VPC = "vpc-0123456789abcdef0";

/** The downstream services' base URLs the tests configure (required settings, no defaults). */
export const SERVICE_URLS = {
  inventoryUrl: "https://inventory.example.com",
  fulfilmentUrl: "https://fulfilment.example.com",
  accountingUrl: "https://accounting.example.com",
} as const;

/**
 * The stack configuration `config.load()` reads in the tests, as `Pulumi.<stack>.yaml` would hold
 * it; `secretKeys` are those set with `pulumi config set --secret`, as the language host names
 * them to the program.
 */
export function setStackConfig(config: Record<string, string>, secretKeys: string[] = []): void {
  const fullKey = (key: string) => `orders-pipeline:${key}`;
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [fullKey(k), v])), secretKeys.map(fullKey));
}

pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      const service = args.type.split(":")[1].split("/")[0];
      const name = args.inputs.name ?? `${args.name}-physical`;
      const arn = `arn:aws:${service}:${REGION}:${ACCOUNT}:${args.type.split(":")[2]}/${name}`;
      const state = {
        ...args.inputs,
        arn,
        name,
        keyId: `${args.name}-key-id`,
        bucket: args.inputs.bucket ?? `${args.name}-bucket-name`,
        invokeArn: `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${arn}/invocations`,
        executionArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${args.name}-id`,
        rootResourceId: `${args.name}-root`,
        invokeUrl: `https://${args.name}.execute-api.${REGION}.amazonaws.com/${args.inputs.stageName ?? ""}`,
      };
      const ignoreChanges = registeredIgnoreChanges.get(`${args.type}::${args.name}`) ?? [];
      recorded.push({ type: args.type, name: args.name, inputs: args.inputs, state, ignoreChanges });
      return { id: `${args.name}-id`, state };
    },
    call: (args) => {
      switch (args.token) {
        case "aws:index/getRegion:getRegion":
          return { id: REGION, name: REGION, region: REGION };
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return { id: ACCOUNT, accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/test`, userId: "test" };
        case "aws:ec2/getSubnet:getSubnet":
          return { ...args.inputs, vpcId: VPC };
        default:
          return args.inputs;
      }
    },
  },
  "orders-pipeline",
  "test",
  false,
);
setStackConfig(SERVICE_URLS);

/**
 * The mock monitor hands newResource the inputs but none of the options, so each resource's
 * ignoreChanges is read from its registration request (the engine's protocol) on the way in.
 */
const registeredIgnoreChanges = new Map<string, string[]>();
interface RegisterResourceRequest {
  getType(): string;
  getName(): string;
  getIgnorechangesList(): string[];
}
const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: RegisterResourceRequest, callback: unknown): void };
const registerResource = monitor.registerResource.bind(monitor);
monitor.registerResource = (req, callback) => {
  registeredIgnoreChanges.set(`${req.getType()}::${req.getName()}`, req.getIgnorechangesList());
  registerResource(req, callback);
};

/** The defaults and the services' URLs, with Lambda packages that exist (empty files standing in for the zips). */
export function testConfig(overrides: Partial<PipelineConfig> = {}): PipelineConfig {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lambda-packages-"));
  const binaries = [QUERY_LAMBDA_BINARY, ORDER_TABLES_LAMBDA_BINARY, ...Object.values(eventSources()).map((s) => s.lambdaBinary)];
  for (const binary of binaries) {
    fs.mkdirSync(path.join(dir, binary));
    fs.writeFileSync(path.join(dir, binary, "bootstrap.zip"), "");
  }
  return { ...defaults, ...SERVICE_URLS, lambdaPackageDir: dir, ...overrides };
}

/** The settled value of an output. */
export function value<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Waits until every resource registered so far has been recorded. */
export async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 100));
}

export function ofType(type: string): Recorded[] {
  return recorded.filter((r) => r.type === type);
}

export function one(type: string, name: string): Recorded {
  const found = recorded.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) {
    throw new Error(`${found.length} resources ${type} named ${name}; have ${ofType(type).map((r) => r.name).join(", ")}`);
  }
  return found[0];
}
