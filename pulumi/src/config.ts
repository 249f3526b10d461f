// Stack configuration: every setting with its default, validated before anything is built.
// Set with `pulumi config set <key> <value>`; docs/deploy.md lists them all.
import * as pulumi from "@pulumi/pulumi";

export type StreamMode = "ON_DEMAND" | "PROVISIONED";

export interface PipelineConfig {
  /** Prefix of every resource name, so several stacks can share an account. */
  prefix: string;
  /** On-demand by default: no shards to plan for a sale spike. */
  streamMode: StreamMode;
  /** Shards when `streamMode` is PROVISIONED. */
  shardCount: number;
  /** How long the stream keeps records, in hours: 24 (the cheapest) to 8760 (365 days). */
  retentionHours: number;
  /** Production stacks get deletion protection on tables and keys. */
  production: boolean;
  /** Tags put on every resource. */
  tags: Record<string, string>;
}

export const defaults: PipelineConfig = {
  prefix: "orders",
  streamMode: "ON_DEMAND",
  shardCount: 4,
  retentionHours: 24,
  production: false,
  tags: {},
};

/** Checks a configuration; throws one error listing every problem. */
export function validate(config: PipelineConfig): PipelineConfig {
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(config.prefix)) {
    problems.push(`prefix '${config.prefix}' must be lowercase letters, digits and dashes, at most 31 characters`);
  }
  if (config.streamMode !== "ON_DEMAND" && config.streamMode !== "PROVISIONED") {
    problems.push(`streamMode '${config.streamMode}' must be ON_DEMAND or PROVISIONED`);
  }
  if (!Number.isInteger(config.shardCount) || config.shardCount < 1) {
    problems.push(`shardCount ${config.shardCount} must be a whole number of at least 1`);
  }
  if (!Number.isInteger(config.retentionHours) || config.retentionHours < 24 || config.retentionHours > 8760) {
    problems.push(`retentionHours ${config.retentionHours} must be between 24 and 8760`);
  }
  if (problems.length > 0) {
    throw new Error(`invalid stack configuration:\n- ${problems.join("\n- ")}`);
  }
  return config;
}

/** The stack's configuration from `Pulumi.<stack>.yaml`, over the defaults. */
export function load(): PipelineConfig {
  const config = new pulumi.Config();
  return validate({
    prefix: config.get("prefix") ?? defaults.prefix,
    streamMode: (config.get("streamMode") ?? defaults.streamMode) as StreamMode,
    shardCount: config.getNumber("shardCount") ?? defaults.shardCount,
    retentionHours: config.getNumber("retentionHours") ?? defaults.retentionHours,
    production: config.getBoolean("production") ?? defaults.production,
    tags: config.getObject<Record<string, string>>("tags") ?? defaults.tags,
  });
}
