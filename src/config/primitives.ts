import { isIP } from "node:net";
import { z } from "zod";
import { describeValue } from "./path";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/;
const CHECKSUM = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** An RFC 1123 label: what Kubernetes accepts for node names and RuntimeClass handlers, and safe in file names. */
export const dnsLabel = (what: string) =>
  z.string().refine((v) => v.length <= 63 && DNS_LABEL.test(v), {
    error: (issue) => `${describeValue(issue.input)} is not a valid ${what}: use lowercase letters, digits and "-", at most 63 characters, starting and ending with a letter or digit`,
  });

export const absolutePath = z.string().refine((v) => v.startsWith("/") && !v.split("/").includes("..") && !/[\0\n]/.test(v), {
  error: (issue) => `${describeValue(issue.input)} is not an absolute path without ".." segments`,
});

/** A host to SSH into: IPv4, IPv6 or a DNS name. All-numeric dotted strings must be IPv4. */
export const hostAddress = z.string().refine(
  (v) => isIP(v) !== 0 || (!/^[\d.]+$/.test(v) && !v.includes(":") && DNS_NAME.test(v)),
  { error: (issue) => `${describeValue(issue.input)} is not an IPv4 address, an IPv6 address or a DNS name` },
);

export const port = z.number().int().min(1).max(65535);

export const semver = (what: string) =>
  z.string().regex(SEMVER, { error: (issue) => `${describeValue(issue.input)} is not a ${what} version of the form X.Y.Z` });

/** Debian package names and versions (Debian Policy 5.6.1, 5.6.12), as apt takes them in `name=version`. */
export const packageName = z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, {
  error: (issue) => `${describeValue(issue.input)} is not a Debian package name (lowercase letters, digits, "+", "-", ".")`,
});
export const packageVersion = z.string().regex(/^[A-Za-z0-9.+~:-]+$/, {
  error: (issue) => `${describeValue(issue.input)} is not a Debian package version such as "1.6.20~ds1-1+deb12u3"`,
});

export const checksum = z.string().regex(CHECKSUM, {
  error: (issue) => `${describeValue(issue.input)} is not a checksum of the form "sha256:<64 hex digits>" or "sha512:<128 hex digits>"`,
});

/** An http(s) URL with a host and no query or fragment, as registries and download mirrors need. */
export const httpUrl = z.string().refine(isHttpUrl, {
  error: (issue) => `${describeValue(issue.input)} is not an http:// or https:// URL with a host (and no query, fragment or credentials)`,
});

function isHttpUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === "http:" || url.protocol === "https:") &&
    url.hostname !== "" &&
    url.search === "" &&
    url.hash === "" &&
    url.username === "" &&
    url.password === "" &&
    !/\s/.test(value)
  );
}

/** An image reference with a tag or digest: kubeplug never lets a node float on `latest` or an implied tag. */
export const pinnedImage = z.string().refine(
  (v) => /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$/.test(hostLower(v)) && !/:latest$/.test(v),
  { error: (issue) => `${describeValue(issue.input)} is not an image reference pinned to a tag (other than "latest") or a digest` },
);

function hostLower(image: string): string {
  const slash = image.indexOf("/");
  return slash === -1 ? image : image.slice(0, slash).toLowerCase() + image.slice(slash);
}

const labelKey = z.string().refine(isLabelKey, {
  error: (issue) => `${describeValue(issue.input)} is not a Kubernetes label key ([prefix/]name, name at most 63 characters)`,
});

function isLabelKey(key: string): boolean {
  const parts = key.split("/");
  if (parts.length > 2) return false;
  const name = parts.pop()!;
  const prefix = parts[0];
  return LABEL_NAME.test(name) && (prefix === undefined || (prefix.length <= 253 && DNS_NAME.test(prefix) && prefix === prefix.toLowerCase()));
}

const labelValue = z.string().refine((v) => v.length <= 63 && LABEL_VALUE.test(v), {
  error: (issue) => `${describeValue(issue.input)} is not a Kubernetes label value (at most 63 characters of letters, digits, "-", "_", ".")`,
});

export const labels = z.record(labelKey, labelValue);
