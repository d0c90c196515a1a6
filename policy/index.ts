// The policy pack the Pulumi CLI runs (`pulumi preview --policy-pack policy`). The rules live in
// rules/, importable without starting the pack's gRPC server, so tests call them directly.
import { PolicyPack } from "@pulumi/policy";
import { KUBEPLUG_POLICIES } from "./policies";

new PolicyPack("kubeplug", { enforcementLevel: "mandatory", policies: [...KUBEPLUG_POLICIES] });
