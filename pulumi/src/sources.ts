// The consumers the Rust side publishes, with the event source mapping settings its Lambda host
// expects (processors/lambda-event-sources.json): read by the configuration's checks and by the
// consumers, so that neither has to import the other.
import * as fs from "node:fs";
import * as path from "node:path";

export const EVENT_SOURCES_FILE = path.resolve(__dirname, "../../processors/lambda-event-sources.json");

/** One consumer's mapping settings, as the Lambda host publishes them (AWS API names). */
export interface EventSourceSettings {
  lambdaBinary: string;
  BatchSize: number;
  MaximumBatchingWindowInSeconds: number;
  ParallelizationFactor: number;
  StartingPosition: "TRIM_HORIZON" | "LATEST";
  FunctionResponseTypes: string[];
  BisectBatchOnFunctionError: boolean;
  MaximumRetryAttempts: number;
  MaximumRecordAgeInSeconds: number;
  OnFailure: "dead-letter-bucket";
}

/** Every published consumer's settings, by its name (`orders-materialiser`, …). */
export function eventSources(): Record<string, EventSourceSettings> {
  return JSON.parse(fs.readFileSync(EVENT_SOURCES_FILE, "utf8")).consumers;
}
