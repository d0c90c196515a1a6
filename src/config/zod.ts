import { z } from "zod";
import { ConfigProblem } from "../errors";
import { describeValue, formatPath } from "./path";
import { closest, unknownNameMessage } from "./suggest";

/**
 * An object that rejects unknown keys with a "did you mean" hint. zod reports unknown keys even
 * when sibling fields fail, which is when a typo (`adress`) matters most.
 */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape, foreign: ForeignKeys = {}, missing?: string) {
  const unknown = unknownKeysError(Object.keys(shape), foreign);
  // `missing`: what to say when a required section is absent, instead of "expected object, received undefined".
  return z.strictObject(shape, { error: (issue) => (missing && issue.code === "invalid_type" && issue.input === undefined ? missing : unknown(issue)) });
}

/** Keys that belong to a sibling schema (a containerd setting in a CRI-O pool), with what to say about them. */
export type ForeignKeys = Readonly<Record<string, string>>;

/** A map whose keys come from a fixed list (artifacts, architectures), with strictObject's hint for any other key. */
export function enumRecord<const Keys extends readonly [string, ...string[]], Value extends z.ZodType>(keys: Keys, value: Value) {
  return z.partialRecord(z.enum(keys), value, { error: unknownKeysError(keys) });
}

function unknownKeysError(known: readonly string[], foreign: ForeignKeys = {}) {
  return (issue: z.core.$ZodRawIssue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => (Object.hasOwn(foreign, key) ? foreign[key]! : unknownKeyMessage(key, known))).join("\n")
      : undefined;
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  // An empty shape is a section whose settings are not modelled yet (kubeplug:storage).
  if (known.length === 0) return "unknown key; nothing can be set here yet";
  const suggestion = closest(key, known);
  return suggestion ? `unknown key; did you mean "${suggestion}"?` : `unknown key; known keys here: ${known.join(", ")}`;
}

/**
 * A discriminated union keyed by `field`, whose error for a bad discriminator says what is allowed.
 * zod's own message for that case is "Invalid input".
 */
export function tagged<const Options extends readonly [z.ZodObject, ...z.ZodObject[]]>(
  field: string,
  options: Options,
  /** Replaces "expected a map, got <value>" where the value must not be echoed (a pasted password). */
  notAMap?: string,
) {
  const allowed = options.map((option) => {
    const tag = option.shape[field];
    return tag instanceof z.ZodLiteral ? String(tag.value) : "?";
  });
  return z.discriminatedUnion(field, options, {
    error: (issue) => {
      if ((issue.code as string) === "invalid_type" && notAMap) return notAMap;
      if (issue.code !== "invalid_union") return undefined;
      const input = issue.input as Record<string, unknown> | undefined;
      const value = input && typeof input === "object" ? input[field] : undefined;
      if (value === undefined) return `"${field}" is required: one of ${allowed.join(", ")}`;
      return typeof value === "string"
        ? unknownNameMessage(field, value, allowed)
        : `expected one of ${allowed.join(", ")}, got ${describeValue(value)}`;
    },
  });
}

/** Converts zod issues into path-named problems under a config root such as `kubeplug:cluster`. */
export function zodProblems(root: string, error: z.ZodError): ConfigProblem[] {
  return zodIssues(error).map(({ segments, message }) => ({ path: formatPath(root, segments), message }));
}

/** Each zod issue as the path segments it is about and kubeplug's message; an unknown key is one issue per key. */
export function zodIssues(error: z.ZodError): { segments: PropertyKey[]; message: string; unknownKey?: string }[] {
  const issues: { segments: PropertyKey[]; message: string; unknownKey?: string }[] = [];
  for (const issue of error.issues) {
    const path = issue.path as PropertyKey[];
    if (issue.code === "unrecognized_keys") {
      const lines = issue.message.split("\n");
      issue.keys.forEach((key, i) => issues.push({ segments: [...path, key], message: lines[i] ?? "unknown key", unknownKey: key }));
      continue;
    }
    issues.push({ segments: path, message: issueMessage(issue) });
  }
  return issues;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      // A schema's own message (zod's defaults start with "Invalid input") wins: see tagged's notAMap.
      if (!issue.message.startsWith("Invalid input")) return issue.message;
      return input === undefined
        ? `required, expected ${article(issue.expected)}`
        : `expected ${article(issue.expected)}, got ${describeValue(input)}`;
    case "too_small":
    case "too_big":
      return boundMessage(issue, input);
    case "invalid_value":
      return notOneOfMessage(input, issue.values);
    case "invalid_key":
    case "invalid_element":
      // zod's own message is "Invalid key in record"; the nested issues say what is wrong with the key.
      return issue.issues.map(issueMessage).join("; ");
    case "unrecognized_keys":
    case "invalid_union":
    case "invalid_format":
    case "custom":
    case "not_multiple_of":
      return issue.message;
    default: {
      const unhandled: never = issue;
      return (unhandled as { message: string }).message;
    }
  }
}

function boundMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, input: unknown): string {
  const small = issue.code === "too_small";
  const bound = small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum;
  const relation = small ? (issue.inclusive ? "at least" : "more than") : issue.inclusive ? "at most" : "less than";
  switch (issue.origin) {
    case "array":
    case "set":
      return `needs ${relation} ${String(bound)} item(s), got ${describeValue(input)}`;
    case "string":
      return `${describeValue(input)} must be ${relation} ${String(bound)} characters long`;
    default:
      return `${describeValue(input)} must be ${relation} ${String(bound)}`;
  }
}

function notOneOfMessage(input: unknown, values: readonly unknown[]): string {
  const allowed = values.map((v) => JSON.stringify(v)).join(", ");
  if (input === undefined) return `required, expected one of: ${allowed}`;
  const suggestion = typeof input === "string" ? closest(input, values.map(String)) : undefined;
  return `${describeValue(input)} is not one of: ${allowed}${suggestion ? `; did you mean "${suggestion}"?` : ""}`;
}

function article(type: string): string {
  const readable = ({ object: "map", record: "map", array: "list", int: "integer" } as Record<string, string>)[type] ?? type;
  return /^[aeiou]/.test(readable) ? `an ${readable}` : `a ${readable}`;
}
