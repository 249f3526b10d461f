// `pulumi up` entry point: read the stack's configuration, build the pipeline, export what
// clients, analysts and operators need.
import * as config from "./src/config";
import { createPipeline } from "./src/pipeline";

const pipeline = createPipeline(config.load());

export const apiUrl = pipeline.api.url;
export const userPoolId = pipeline.api.userPool.id;
export const userPoolClientId = pipeline.api.userPoolClient.id;
export const streamName = pipeline.stream.name;
export const streamArn = pipeline.stream.arn;
export const ordersTableName = pipeline.ordersTable.name;
export const failuresTableName = pipeline.failuresTable.name;
export const idempotencyTableName = pipeline.idempotencyTable.name;
export const archiveBucket = pipeline.archive.bucket.bucket;
export const deadLetterBucket = pipeline.deadLetters.bucket;
export const athenaWorkgroup = pipeline.archive.workgroup.name;
export const glueDatabase = pipeline.archive.database.name;
export const alarmTopicArn = pipeline.monitoring.topic.arn;
export const dashboardUrl = pipeline.monitoring.dashboardUrl;
export const consumerFunctions = Object.fromEntries(pipeline.consumers.map((c) => [c.name, c.lambda.fn.name]));
/** The SSM parameter the saga stages read their services' API key from (downstreamAuth api-key only). */
export const downstreamApiKeyParameter = pipeline.downstreamApiKey?.name;
