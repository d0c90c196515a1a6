import { z } from "zod";
import { ipamConfig, pluginConfig, TYPED, TYPED_IPAM } from "../../src/config/cni-conflist";
import { SECRET_KEY_PATTERN, secureValue, stackConfigMap, stackFile } from "../../src/config/stack-file";

/** A JSON Schema node, as z.toJSONSchema writes it and the doc and type generators read it. */
export type JsonSchema = z.core.JSONSchema.JSONSchema;

/**
 * The JSON Schema of a stack file (schema/kubeplug.schema.json), converted from the zod schemas.
 *
 * - `io: "input"`: what a user writes, so defaulted fields are optional and carry `default`.
 * - Refinements (`.refine`, `.superRefine`) have no JSON Schema form and are dropped: the editor
 *   checks types, keys, enums, patterns and bounds; kubeplug's loader checks the rest.
 * - Pipes (the CNI plugin and IPAM objects, parsed by a transform that dispatches on `type`) are
 *   converted from their input side; see `byType` below for what is added back. Nothing in the
 *   schema is unrepresentable, so `unrepresentable` stays "throw": a new transform or custom type
 *   must be given a JSON form here rather than silently become "anything".
 * - Secrets: section fields hold references (`{ from: config, key }`), which are plain objects; the
 *   secret config keys themselves (`kubeplug:<key>: { secure: ... }`) get a patternProperties entry.
 */
export function stackJsonSchema(): JsonSchema {
  return convert(stackFile);
}

const OPTIONS = { io: "input", target: "draft-07", override } as const satisfies Parameters<typeof z.toJSONSchema>[1];

function convert(schema: z.ZodType): JsonSchema {
  const { $schema, ...json } = z.toJSONSchema(schema, OPTIONS);
  return schema === stackFile ? { $schema, ...json } : json;
}

const PATTERN_FORMATS: ReadonlySet<string> = new Set(["includes", "starts_with", "ends_with"]);

function override({ zodSchema, jsonSchema }: { zodSchema: z.core.$ZodType; jsonSchema: JsonSchema }): void {
  const def = zodSchema._zod.def;
  // zod writes discriminated unions as oneOf; naming the tag lets a validator (ajv with
  // `discriminator: true`, OpenAPI tools) check only the branch the tag selects and report its errors.
  if (def.type === "union" && "discriminator" in def && typeof def.discriminator === "string") {
    jsonSchema.type = "object";
    jsonSchema.discriminator = { propertyName: def.discriminator };
  }
  // z.string().includes() / startsWith() / endsWith() write their check's name as `format` beside the
  // pattern that says the same; those are no JSON Schema formats, and strict validators refuse them.
  if (PATTERN_FORMATS.has(String(jsonSchema.format)) && jsonSchema.pattern !== undefined) delete jsonSchema.format;
  if (zodSchema === pluginConfig) byType(jsonSchema, TYPED);
  if (zodSchema === ipamConfig) byType(jsonSchema, TYPED_IPAM);
  if (zodSchema === stackConfigMap) jsonSchema.patternProperties = { [SECRET_KEY_PATTERN.source]: convert(secureValue) };
}

/**
 * CNI plugin and IPAM objects are parsed by a transform that picks the typed schema for `type`
 * (cni-conflist.ts byType); its input side only says "an object with a type". The typed schemas
 * are added back as one if/then per type, so editors complete and check a bridge's keys while any
 * other plugin type passes with its own keys.
 */
function byType(jsonSchema: JsonSchema, typed: Readonly<Record<string, z.ZodType>>): void {
  jsonSchema.allOf = Object.entries(typed).map(([type, schema]) => ({
    if: { properties: { type: { const: type } }, required: ["type"] },
    then: convert(schema),
  }));
}
