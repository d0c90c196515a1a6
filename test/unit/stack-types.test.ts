import { describe, it } from "vitest";
import { z } from "zod";
import type { KubeplugCluster, KubeplugConfig, KubeplugNetwork, KubeplugStackFile, KubeplugStorage, SecureValue } from "../../src/config/generated/stack-types";
import { SECTIONS } from "../../src/config/stack";
import { secureValue, stackConfigMap, stackFile } from "../../src/config/stack-file";

// The interfaces generated from the JSON Schema (npm run reference) against what zod itself infers:
// each must be assignable to the other, so neither accepts a stack the other refuses. tsc checks
// them (npm run typecheck); at run time the calls do nothing.

/** Compiles only when `From` is assignable to `To`; tsc's error then names the field that differs. */
function assignable<From extends To, To>(): void {}

describe("generated stack types", () => {
  it("equal z.input of each section", () => {
    assignable<KubeplugCluster, z.input<typeof SECTIONS.cluster>>();
    assignable<z.input<typeof SECTIONS.cluster>, KubeplugCluster>();
    assignable<KubeplugNetwork, z.input<typeof SECTIONS.network>>();
    assignable<z.input<typeof SECTIONS.network>, KubeplugNetwork>();
    assignable<KubeplugStorage, z.input<typeof SECTIONS.storage>>();
    assignable<z.input<typeof SECTIONS.storage>, KubeplugStorage>();
  });

  it("equal z.input of the config map, its secret values and the whole file", () => {
    assignable<SecureValue, z.input<typeof secureValue>>();
    assignable<z.input<typeof secureValue>, SecureValue>();
    assignable<KubeplugConfig, z.input<typeof stackConfigMap>>();
    assignable<z.input<typeof stackConfigMap>, KubeplugConfig>();
    assignable<KubeplugStackFile, z.input<typeof stackFile>>();
    assignable<z.input<typeof stackFile>, KubeplugStackFile>();
  });
});
