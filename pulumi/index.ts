// `pulumi up` entry point: read the stack's configuration, build the pipeline, export what
// operators and clients need.
import * as config from "./src/config";
import { createPipeline } from "./src/pipeline";

const pipeline = createPipeline(config.load());

export const streamArn = pipeline.stream.arn;
export const streamName = pipeline.stream.name;
export const ordersTableName = pipeline.ordersTable.name;
export const consumerArns = Object.fromEntries(
  Object.entries(pipeline.consumers).map(([name, consumer]) => [name, consumer.arn]),
);
