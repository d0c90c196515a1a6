import { Policy } from "@pulumi/policy";
import { oneDefaultStorageClass } from "./rules/default-storage-class";
import { hostKeysPinned } from "./rules/host-keys";
import { pinnedVersionsAndImages } from "./rules/pinned";
import { registryTlsVerified } from "./rules/registry-tls";
import { secretsOnlyInSecrets } from "./rules/secrets";
import { swapsBounded } from "./rules/swap-limits";

/** Every rule of kubeplug's pack, in the order docs/policy.md describes them. */
export const KUBEPLUG_POLICIES: readonly Policy[] = [pinnedVersionsAndImages, registryTlsVerified, oneDefaultStorageClass, swapsBounded, hostKeysPinned, secretsOnlyInSecrets];
