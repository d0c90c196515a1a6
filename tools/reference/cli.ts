// `npm run reference`: rewrites schema/kubeplug.schema.json and docs/configuration.md from the
// zod schemas in src/config.
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
