import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { KUBEPLUG_POLICIES } from "../../policy/policies";

// The pack's entry point as the Pulumi CLI loads it. Stand-in: PolicyPack is replaced by a recorder,
// because the real one starts the analyzer's gRPC server for an engine that is not here.
const { constructed } = vi.hoisted(() => ({ constructed: [] as unknown[][] }));
vi.mock("@pulumi/policy", async (original) => ({
  ...(await original<typeof import("@pulumi/policy")>()),
  PolicyPack: class {
    constructor(...args: unknown[]) {
      constructed.push(args);
    }
  },
}));

describe("policy/index.ts", () => {
  it("makes one mandatory pack named kubeplug of every rule", async () => {
    await import("../../policy/index");
    expect(constructed).toEqual([["kubeplug", { enforcementLevel: "mandatory", policies: [...KUBEPLUG_POLICIES] }]]);
    expect(KUBEPLUG_POLICIES.map((p) => p.name)).toEqual([
      "kubeplug-pinned-versions-and-images",
      "kubeplug-registry-tls-verified",
      "kubeplug-one-default-storage-class",
      "kubeplug-swap-max-unavailable",
      "kubeplug-host-keys-pinned",
      "kubeplug-secrets-from-pulumi-secrets",
    ]);
  });

  it("has the version the real PolicyPack reads from package.json in the directory the CLI runs it in", () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, "..", "..", "policy", "package.json"), "utf8")) as { version?: string; main?: string };
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.main).toBe("index.ts");
  });

  it("documents every rule in docs/policy.md", () => {
    const doc = readFileSync(join(__dirname, "..", "..", "docs", "policy.md"), "utf8");
    for (const policy of KUBEPLUG_POLICIES) expect(doc).toContain(`\`${policy.name}\``);
  });
});
