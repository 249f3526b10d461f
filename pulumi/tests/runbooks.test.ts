// Every alarm names its runbook: whoever is paged reads in the alarm's description where to
// look, and that file exists under docs/runbooks/ with what it means, how to look and what to do.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeEach, test } from "node:test";

import * as aws from "@pulumi/aws";

import { Recorded, ofType, recorded, settle, testConfig } from "./mocks";
import { PipelineConfig, validate } from "../src/config";
import { RUNBOOKS, RUNBOOKS_DIR, alarmDescription, runbookPath } from "../src/monitoring";
import { createPipeline } from "../src/pipeline";

beforeEach(() => {
  recorded.length = 0;
});

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
/** The repository's root, which the runbooks' paths are relative to. */
const REPO = path.resolve(__dirname, "../..");
/** How a description names its runbook: last, as alarmDescription() writes it. */
const RUNBOOK = /Runbook: (\S+)$/;
/** The sections every runbook has. */
const SECTIONS = ["## What it means", "## How to look", "## What to do"];
/** CloudWatch's limit on an alarm's description. */
const DESCRIPTION_MAX = 1024;

/** The alarms of a stack built from `overrides`: on-demand by default, provisioned adds the throttling ones. */
async function alarmsOf(overrides: Partial<PipelineConfig>): Promise<Recorded[]> {
  recorded.length = 0;
  createPipeline(validate(testConfig(overrides)));
  await settle();
  return ofType(ALARM);
}

/** What is wrong with each alarm's runbook, by alarm; the runbooks named, by path. */
function check(alarms: Recorded[]): { problems: string[]; named: Set<string> } {
  const problems: string[] = [];
  const named = new Set<string>();
  const index = fs.readFileSync(path.join(REPO, RUNBOOKS_DIR, "README.md"), "utf8");
  for (const alarm of alarms) {
    const description: unknown = alarm.inputs.alarmDescription;
    const found = typeof description === "string" ? RUNBOOK.exec(description) : null;
    if (found === null) {
      problems.push(`${alarm.name}: its description names no runbook ('Runbook: ${RUNBOOKS_DIR}/<slug>.md'): ${description}`);
      continue;
    }
    const runbook = found[1];
    named.add(runbook);
    if ((description as string).length > DESCRIPTION_MAX) problems.push(`${alarm.name}: description over ${DESCRIPTION_MAX} characters`);
    if (!runbook.startsWith(`${RUNBOOKS_DIR}/`) || !runbook.endsWith(".md")) {
      problems.push(`${alarm.name}: ${runbook} is not a file under ${RUNBOOKS_DIR}/`);
      continue;
    }
    const file = path.join(REPO, runbook);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
      problems.push(`${alarm.name}: its runbook ${runbook} does not exist`);
      continue;
    }
    const text = fs.readFileSync(file, "utf8");
    for (const section of SECTIONS) {
      if (!text.split("\n").includes(section)) problems.push(`${alarm.name}: ${runbook} has no '${section}' section`);
    }
    if (!index.includes(`](${path.basename(runbook)})`)) problems.push(`${alarm.name}: ${RUNBOOKS_DIR}/README.md does not link ${runbook}`);
  }
  return { problems, named };
}

test("every alarm's description names its runbook, which exists under docs/runbooks/ with its three sections and is in the index", async () => {
  const named = new Set<string>();
  let count = 0;
  // Every consumer on Fargate: their behind, dead-letter and running alarms instead of the Lambdas'.
  const fargate: Partial<PipelineConfig> = {
    consumerHosts: { "orders-materialiser": "fargate", "orders-inventory": "fargate", "orders-fulfilment": "fargate", "orders-accounting": "fargate" },
    consumerImage: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-consumer:v1",
    fargateSubnetIds: ["subnet-0aaaaaaaaaaaaaaaa"],
  };
  for (const overrides of [{}, { dynamodbCapacity: "provisioned" } as const, fargate]) {
    const alarms = await alarmsOf(overrides);
    assert.ok(alarms.length > 0);
    count += alarms.length;
    const checked = check(alarms);
    assert.deepEqual(checked.problems, []);
    for (const runbook of checked.named) named.add(runbook);
  }
  // 22 on-demand, 24 provisioned (the two tables' throttling alarms), 18 with every consumer on
  // Fargate (three alarms each instead of four).
  assert.equal(count, 22 + 24 + 18);
  // Every runbook the program knows is one some alarm names, and each is a real file.
  assert.deepEqual([...named].sort(), RUNBOOKS.map(runbookPath).sort());
});

test("an alarm added without a runbook, or naming a runbook that is not there, fails the check", async () => {
  const alarms = await alarmsOf({});
  assert.deepEqual(check(alarms).problems, []);
  const args = { comparisonOperator: "GreaterThanThreshold", evaluationPeriods: 1, threshold: 0, namespace: "AWS/Lambda", metricName: "Errors", period: 300, statistic: "Sum" };
  new aws.cloudwatch.MetricAlarm("stray-without-runbook", { ...args, alarmDescription: "Something broke" });
  new aws.cloudwatch.MetricAlarm("stray-without-description", args);
  new aws.cloudwatch.MetricAlarm("stray-missing-runbook", {
    ...args,
    alarmDescription: alarmDescription("Something else broke", "api-5xx").replace("api-5xx", "no-such-alarm"),
  });
  await settle();
  const problems = check(ofType(ALARM)).problems.sort();
  assert.equal(problems.length, 3, problems.join("\n"));
  assert.match(problems[0], /^stray-missing-runbook: its runbook docs\/runbooks\/no-such-alarm\.md does not exist/);
  assert.match(problems[1], /^stray-without-description: its description names no runbook/);
  assert.match(problems[2], /^stray-without-runbook: its description names no runbook/);
});
