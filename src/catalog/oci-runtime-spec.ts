import Ajv from "ajv-draft-04";
import configSchema from "./oci-runtime-spec/config-schema.json";
import configLinux from "./oci-runtime-spec/config-linux.json";
import configSolaris from "./oci-runtime-spec/config-solaris.json";
import configVm from "./oci-runtime-spec/config-vm.json";
import configWindows from "./oci-runtime-spec/config-windows.json";
import configZos from "./oci-runtime-spec/config-zos.json";
import defs from "./oci-runtime-spec/defs.json";
import defsLinux from "./oci-runtime-spec/defs-linux.json";
import defsVm from "./oci-runtime-spec/defs-vm.json";
import defsWindows from "./oci-runtime-spec/defs-windows.json";
import defsZos from "./oci-runtime-spec/defs-zos.json";

/** The runtime-spec release the vendored schema belongs to (oci-runtime-spec/SOURCE.md). */
export const OCI_RUNTIME_SPEC_VERSION = "1.2.1";

// The schema files refer to each other by file name; each is registered under the name it is referred to by.
const REFERENCED = {
  "defs.json": defs,
  "defs-linux.json": defsLinux,
  "defs-vm.json": defsVm,
  "defs-windows.json": defsWindows,
  "defs-zos.json": defsZos,
  "config-linux.json": configLinux,
  "config-solaris.json": configSolaris,
  "config-vm.json": configVm,
  "config-windows.json": configWindows,
  "config-zos.json": configZos,
};

let validate: ReturnType<Ajv["compile"]> | undefined;

/** Where an OCI runtime config (config.json) breaks the runtime-spec schema: one line each, none when it follows it. */
export function ociSpecProblems(spec: unknown): string[] {
  if (!validate) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    for (const [name, schema] of Object.entries(REFERENCED)) ajv.addSchema(schema, name);
    validate = ajv.compile(configSchema);
  }
  if (validate(spec)) return [];
  return (validate.errors ?? []).map((error) => {
    const at = error.instancePath === "" ? "the spec" : error.instancePath;
    const detail = error.keyword === "additionalProperties" ? ` (${JSON.stringify((error.params as { additionalProperty: string }).additionalProperty)})` : error.keyword === "enum" ? ` (one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")})` : "";
    return `${at} ${error.message}${detail}`;
  });
}
