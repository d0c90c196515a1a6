// `npm run reference`: rewrites schema/kubeplug.schema.json, docs/configuration.md and
// src/config/generated/stack-types.ts from the zod schemas in src/config, and docs/storage.md from the storage catalog.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { referenceFiles } from "./index";

async function main(): Promise<void> {
  const root = join(__dirname, "..", "..");
  for (const [file, content] of Object.entries(await referenceFiles())) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), content);
    console.log(`wrote ${file}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
