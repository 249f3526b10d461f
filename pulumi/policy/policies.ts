// The security rules every stack must pass, as a Pulumi policy pack. Kept apart from
// policy/index.ts (which serves the pack) so that tests can import and exercise them.
import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";

export const policies: ResourceValidationPolicy[] = [
  {
    name: "kinesis-stream-encrypted-with-kms",
    description: "Orders carry personal data: the stream is encrypted at rest with a KMS key.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.kinesis.Stream, (stream, _args, reportViolation) => {
      if (stream.encryptionType !== "KMS" || !stream.kmsKeyId) {
        reportViolation("the stream must set encryptionType KMS and a kmsKeyId");
      }
    }),
  },
  {
    name: "dynamodb-table-encrypted-and-recoverable",
    description: "Tables are encrypted with the pipeline's KMS key and keep point-in-time recovery.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.dynamodb.Table, (table, _args, reportViolation) => {
      if (!table.serverSideEncryption?.enabled || !table.serverSideEncryption.kmsKeyArn) {
        reportViolation("the table must enable server-side encryption with a customer-managed KMS key");
      }
      if (!table.pointInTimeRecovery?.enabled) {
        reportViolation("the table must enable point-in-time recovery");
      }
    }),
  },
  {
    name: "kms-key-rotation",
    description: "Customer-managed keys rotate yearly.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.kms.Key, (key, _args, reportViolation) => {
      if (!key.enableKeyRotation) {
        reportViolation("the key must enable rotation");
      }
    }),
  },
];
