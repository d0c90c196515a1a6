import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REFERENCE_COMMAND, referenceFiles } from "../../tools/reference";

// schema/kubeplug.schema.json, docs/configuration.md and src/config/generated/stack-types.ts are
// generated from the zod schemas in src/config; a schema change without regenerating them fails here.
const root = join(__dirname, "..", "..");

describe("generated reference files", async () => {
  const files = await referenceFiles();

  it.each(Object.keys(files))("%s is up to date", (file) => {
    let committed: string | undefined;
    try {
      committed = readFileSync(join(root, file), "utf8");
    } catch {
      committed = undefined;
    }
    expect(committed, `${file} is stale: run \`${REFERENCE_COMMAND}\` and commit the result`).toBe(files[file]);
  });
});
