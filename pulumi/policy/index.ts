// The policy pack, served to `pulumi preview --policy-pack policy` and `pulumi up --policy-pack policy`.
import { PolicyPack } from "@pulumi/policy";

import { policies } from "./policies";

new PolicyPack("orders-pipeline-security", { policies });
