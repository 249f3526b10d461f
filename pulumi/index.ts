// `pulumi up` entry point: read the stack's configuration, build the pipeline, export what
// clients, analysts and operators need.
import * as config from "./src/config";
import { fargateConsumers, lambdaConsumers } from "./src/consumers";
import { createPipeline } from "./src/pipeline";

const pipeline = createPipeline(config.load());

export const apiUrl = pipeline.api.url;
export const userPoolId = pipeline.api.userPool.id;
export const userPoolClientId = pipeline.api.userPoolClient.id;
/** The app client verify-stack signs in with (verifierClient true only). */
export const verifierClientId = pipeline.api.verifierClient?.id;
export const streamName = pipeline.stream.name;
export const streamArn = pipeline.stream.arn;
export const ordersTableName = pipeline.ordersTable.name;
export const failuresTableName = pipeline.failuresTable.name;
export const idempotencyTableName = pipeline.idempotencyTable.name;
/** The Fargate workers' lease table (a consumer on Fargate only). */
export const leasesTableName = pipeline.leasesTable?.name;
export const archiveBucket = pipeline.archive.bucket.bucket;
export const deadLetterBucket = pipeline.deadLetters.bucket;
export const athenaWorkgroup = pipeline.archive.workgroup.name;
export const glueDatabase = pipeline.archive.database.name;
export const alarmTopicArn = pipeline.monitoring.topic.arn;
export const dashboardUrl = pipeline.monitoring.dashboardUrl;
/** The function of each consumer on Lambda; those on Fargate are in consumerServices. */
export const consumerFunctions = Object.fromEntries(lambdaConsumers(pipeline.consumers).map((c) => [c.name, c.lambda.fn.name]));
const workers = fargateConsumers(pipeline.consumers);
/** The ECS service of each consumer on Fargate, and their cluster (a consumer on Fargate only). */
export const consumerServices = workers.length === 0 ? undefined : Object.fromEntries(workers.map((c) => [c.name, c.worker.service.name]));
export const consumerCluster = workers[0]?.worker.cluster.name;
/** The SSM parameter the saga stages read their services' API key from (downstreamAuth api-key only). */
export const downstreamApiKeyParameter = pipeline.downstreamApiKey?.name;
