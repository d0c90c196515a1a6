import { stepLibrary } from "../../src/components/node/library";
import { UNUSED_VARS_DIRECTIVE } from "../../src/components/node/step";

/**
 * A step script with each fragment it sources from the node's step library put in its place: what
 * bash runs, as one file, so shellcheck sees the variables the header sets being read by the body.
 */
export function inlineLibrary(script: string): string {
  const contentOf = new Map([...stepLibrary().pathOf].map(([content, path]) => [path, content]));
  return script.replace(`${UNUSED_VARS_DIRECTIVE}\n`, "").replace(/^source "\$KP_LIB\/([^"]+)"\n/gm, (_, path: string) => {
    const content = contentOf.get(path);
    if (content === undefined) throw new Error(`the step sources ${path}, which the step library does not hold`);
    return content;
  });
}
