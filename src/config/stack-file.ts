import { z } from "zod";
import { NAMESPACE, SECTIONS } from "./stack";

// The whole `Pulumi.<stack>.yaml` file as kubeplug reads it: the source of schema/kubeplug.schema.json,
// docs/configuration.md and src/config/generated/stack-types.ts (`npm run reference`). Validation
// itself stays in validateStackConfig, which adds the cross-field checks a JSON Schema cannot express.

/** What `pulumi config set --secret kubeplug:<key>` writes: the value stays encrypted in the file. */
export const secureValue = z
  .looseObject({ secure: z.string().describe("Ciphertext written by Pulumi.") })
  .meta({ title: "SecureValue", description: "A secret config value, set with `pulumi config set --secret`; referenced from a section as `{ from: config, key: <key> }`." });

/** `kubeplug:` keys other than the sections: each must be a secret (`secure:`), never a plain value. */
export const SECRET_KEY_PATTERN = new RegExp(`^${NAMESPACE}:(?!(?:${Object.keys(SECTIONS).join("|")})$)`);

/** The `config:` map: kubeplug's sections by their Pulumi config key; other namespaces are left alone. */
export const stackConfigMap = z
  .looseObject({
    "kubeplug:cluster": SECTIONS.cluster.meta({
      title: "KubeplugCluster",
      description: "Node pools, their container runtimes and RuntimeClasses, the nodes, and how kubeplug reaches them over SSH.",
    }),
    "kubeplug:network": SECTIONS.network.optional().meta({
      title: "KubeplugNetwork",
      description: "CNI plugin binaries, network configuration lists and a CNI provider. Without this key kubeplug leaves CNI on the nodes alone.",
    }),
    "kubeplug:storage": SECTIONS.storage.optional().meta({
      title: "KubeplugStorage",
      description: "CSI drivers from the catalog (docs/storage.md), their StorageClasses and VolumeSnapshotClasses, and volume clients on the hosts. Without this key kubeplug deploys no storage.",
    }),
  } satisfies { [Key in keyof typeof SECTIONS as `${typeof NAMESPACE}:${Key}`]: z.ZodType })
  .meta({ title: "KubeplugConfig", description: `Pulumi config of the stack. Other \`${NAMESPACE}:\` keys hold secrets (\`secure:\` values).` });

/** A `Pulumi.<stack>.yaml` file; Pulumi's own top-level keys (secretsprovider, encryptedkey, ...) pass through. */
export const stackFile = z
  .looseObject({ config: stackConfigMap })
  .meta({ title: "KubeplugStackFile", description: "A kubeplug stack file, stacks/Pulumi.<stack>.yaml." });
