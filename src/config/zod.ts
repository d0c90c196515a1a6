import { z } from "zod";
import { ConfigProblem } from "../errors";
import { describeValue, formatPath } from "./path";
import { closest, unknownNameMessage } from "./suggest";

/**
 * An object that rejects unknown keys with a "did you mean" hint. zod reports unknown keys even
 * when sibling fields fail, which is when a typo (`adress`) matters most.
 */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? issue.keys.map((key) => unknownKeyMessage(key, known)).join("\n") : undefined,
  });
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const suggestion = closest(key, known);
  return suggestion ? `unknown key; did you mean "${suggestion}"?` : `unknown key; known keys here: ${known.join(", ")}`;
}

/**
 * A discriminated union keyed by `field`, whose error for a bad discriminator says what is allowed.
 * zod's own message for that case is "Invalid input".
 */
export function tagged<const Options extends readonly [z.ZodObject, ...z.ZodObject[]]>(field: string, options: Options) {
  const allowed = options.map((option) => {
    const tag = option.shape[field];
    return tag instanceof z.ZodLiteral ? String(tag.value) : "?";
  });
  return z.discriminatedUnion(field, options, {
    error: (issue) => {
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
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const path = issue.path as PropertyKey[];
    if (issue.code === "unrecognized_keys") {
      const lines = issue.message.split("\n");
      issue.keys.forEach((key, i) => problems.push({ path: formatPath(root, [...path, key]), message: lines[i] ?? "unknown key" }));
      continue;
    }
    problems.push({ path: formatPath(root, path), message: issueMessage(issue) });
  }
  return problems;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      return input === undefined
        ? `required, expected ${article(issue.expected)}`
        : `expected ${article(issue.expected)}, got ${describeValue(input)}`;
    case "too_small":
    case "too_big":
      return boundMessage(issue, input);
    case "invalid_value":
      return notOneOfMessage(input, issue.values);
    case "unrecognized_keys":
    case "invalid_union":
    case "invalid_format":
    case "custom":
    case "invalid_key":
    case "invalid_element":
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
  const suggestion = typeof input === "string" ? closest(input, values.map(String)) : undefined;
  return `${describeValue(input)} is not one of: ${allowed}${suggestion ? `; did you mean "${suggestion}"?` : ""}`;
}

function article(type: string): string {
  const readable = type === "object" ? "map" : type === "array" ? "list" : type;
  return /^[aeiou]/.test(readable) ? `an ${readable}` : `a ${readable}`;
}
