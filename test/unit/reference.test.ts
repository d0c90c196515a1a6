import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REFERENCE_COMMAND, referenceFiles } from "../../tools/reference";

// schema/kubeplug.schema.json, docs/configuration.md, src/config/generated/stack-types.ts and docs/storage.md are
// generated from the zod schemas in src/config and the storage catalog; a change without regenerating them fails here.
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

describe("docs/configuration.md", async () => {
  const doc = (await referenceFiles())["docs/configuration.md"]!;

  it("describes every field (a list's items and a map's values are described by the list or map)", () => {
    const rows = doc.split("\n").filter((line) => line.startsWith("| `"));
    const undescribed = rows
      .map((row) => row.split(" | "))
      .filter((cells) => !/(\[\]|>)`(<br>|$)/.test(cells[0]!) && cells[4]!.replace(/\|$/, "").trim() === "")
      .map((cells) => cells[0]!.slice(2));
    expect(rows.length).toBeGreaterThan(250);
    expect(undescribed).toEqual([]);
  });
});
