import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

// The engine starts this file (pulumi preview --policy-pack policy); constructing the pack serves it.
new PolicyPack("permacoop", { policies });
