import { stackJsonSchema } from "./json-schema";
import { configurationMarkdown } from "./markdown";
import { storageMarkdown } from "./storage";
import { stackTypes } from "./typescript";

/** The one command that rewrites every generated reference file. */
export const REFERENCE_COMMAND = "npm run reference";

/** Every generated reference file by its path under the repository root, with its content. */
export async function referenceFiles(): Promise<Record<string, string>> {
  const schema = stackJsonSchema();
  return {
    "schema/kubeplug.schema.json": `${JSON.stringify(schema, null, 2)}\n`,
    "docs/configuration.md": configurationMarkdown(schema, REFERENCE_COMMAND),
    "src/config/generated/stack-types.ts": await stackTypes(schema, REFERENCE_COMMAND),
    "docs/storage.md": storageMarkdown(REFERENCE_COMMAND),
  };
}
