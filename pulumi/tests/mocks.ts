// Pulumi's in-process mocks: resources are recorded instead of created, so the program is
// tested offline, with no Pulumi CLI and no AWS credentials.
import * as pulumi from "@pulumi/pulumi";

export interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

export const recorded: Recorded[] = [];

pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
      const arn = `arn:aws:${args.type.split(":")[1]}:eu-west-1:123456789012:${args.name}`;
      return { id: `${args.name}-id`, state: { ...args.inputs, arn, keyId: `${args.name}-key-id` } };
    },
    call: (args) => args.inputs,
  },
  "orders-pipeline",
  "test",
  false,
);

/** The settled value of an output. */
export function value<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Waits until every resource registered so far has been recorded. */
export async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
}

export function ofType(type: string): Recorded[] {
  return recorded.filter((r) => r.type === type);
}
