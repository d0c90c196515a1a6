import { z } from "zod";
import { cniProviderSettings } from "./cni-provider";
import { conflist } from "./cni-conflist";
import { absolutePath, packageName, semver } from "./primitives";
import { describeValue } from "./path";
import { parseCidr } from "../util/cidr";
import { strictObject, tagged } from "./zod";

/** The reference plugins (containernetworking/plugins) by the release that first shipped them. */
export const REFERENCE_PLUGINS = [
  "bandwidth", "bridge", "dhcp", "dummy", "firewall", "host-device", "host-local", "ipvlan", "loopback",
  "macvlan", "portmap", "ptp", "sbr", "static", "tap", "tuning", "vlan", "vrf",
] as const;
export type ReferencePlugin = (typeof REFERENCE_PLUGINS)[number];

const PLUGINS_FROM = "release: kubeplug downloads containernetworking/plugins (checksum-verified); package: apt installs them and kubeplug copies them into binDir; none: something else installs them.";
const pluginsInstall = tagged("from", [
  strictObject({ from: z.literal("release").describe(PLUGINS_FROM), version: semver("CNI plugins").default("1.9.1").describe("containernetworking/plugins release; its checksum comes from the catalog or downloads.checksums.") }),
  strictObject({
    from: z.literal("package").describe(PLUGINS_FROM),
    name: packageName.default("containernetworking-plugins").describe("Debian package name."),
    version: semver("CNI plugins").describe("Upstream version the package carries (e.g. 1.1.1 on Debian bookworm); it decides which spec versions the plugins speak."),
    libDir: absolutePath.default("/usr/lib/cni").describe("Where the package puts the plugins; kubeplug copies the wanted ones into binDir."),
  }),
  strictObject({
    from: z.literal("none").describe(PLUGINS_FROM),
    version: semver("CNI plugins").optional().describe("Version of the plugins something else installs, if known."),
  }),
]);

const cidr = z.string().refine((v) => parseCidr(v) !== undefined, {
  error: (issue) => `${describeValue(issue.input)} is not a CIDR such as "10.244.0.0/16"`,
});

/** Where runtimes look for CNI plugins and lists; a runtime component without a network takes these too. */
const cniDirFields = {
  binDir: absolutePath.default("/opt/cni/bin").describe("Where runtimes look for CNI plugin binaries."),
  confDir: absolutePath.default("/etc/cni/net.d").describe("Where runtimes look for network configuration lists."),
};
export const cniDirs = strictObject(cniDirFields);
export type CniDirs = z.infer<typeof cniDirs>;

/** Network settings: CNI plugin binaries and network configuration lists on every node. */
export const networkConfig = strictObject({
  podCIDR: cidr.optional().describe("The cluster's pod network; every IPAM range and node pod subnet must lie inside it."),
  cni: strictObject({
    ...cniDirFields,
    plugins: strictObject({
      install: pluginsInstall.prefault({ from: "release" }).describe("Where the reference plugins come from."),
      wanted: z.array(z.enum(REFERENCE_PLUGINS)).optional().describe("Reference plugins kubeplug installs and owns; default: every plugin of the version."),
      external: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/)).default([]).describe("Plugin binaries something else puts in binDir (a provider, an operator); kubeplug never touches them."),
    }).prefault({}).describe("The reference plugin binaries kubeplug installs and owns."),
    conflists: z.array(conflist).default([]).describe("Network configuration lists kubeplug writes and owns; none when a provider owns the network."),
  }).prefault({}).describe("CNI on every node: plugin binaries and network configuration lists."),
  provider: cniProviderSettings.optional().describe("A CNI provider deployed with Helm; it writes its own conflist and some plugin binaries."),
});
export type NetworkConfig = z.infer<typeof networkConfig>;
export type CniPluginsInstall = NetworkConfig["cni"]["plugins"]["install"];

/** The reference plugins a release ships: dummy came in 1.2.0, tap in 1.3.0. */
export function pluginsOfVersion(version: string | undefined): ReferencePlugin[] {
  const [major = 0, minor = 0] = (version ?? "99.0.0").split(".").map(Number);
  const atLeast = (ma: number, mi: number) => major > ma || (major === ma && minor >= mi);
  return REFERENCE_PLUGINS.filter((p) => (p !== "dummy" || atLeast(1, 2)) && (p !== "tap" || atLeast(1, 3)));
}

/** The newest spec version plugins of this release speak: 1.1.0 from v1.6.0 (cni library v1.2.3). */
export function pluginsMaxSpec(version: string | undefined): string {
  if (!version) return "1.0.0";
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 1 || (major === 1 && minor >= 6) ? "1.1.0" : "1.0.0";
}
