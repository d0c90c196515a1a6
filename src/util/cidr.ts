import { isIPv4, isIPv6 } from "node:net";

/** An IP prefix as numbers, for containment and overlap checks (both families). */
export interface Cidr {
  readonly family: 4 | 6;
  readonly address: bigint;
  readonly prefix: number;
  readonly text: string;
}

const BITS = { 4: 32, 6: 128 } as const;

export function parseIp(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) return { family: 4, value: text.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n) };
  if (!isIPv6(text) || text.includes("%")) return undefined;
  const [head = "", tail] = text.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const expand = (parts: string[]) => parts.flatMap((p) => (p.includes(".") ? ipv4Groups(p) : [p]));
  const left = expand(groups(head));
  const right = tail === undefined ? [] : expand(groups(tail));
  const all = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return { family: 6, value: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

function ipv4Groups(dotted: string): string[] {
  const v = parseIp(dotted)!.value;
  return [((v >> 16n) & 0xffffn).toString(16), (v & 0xffffn).toString(16)];
}

export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match) return undefined;
  const ip = parseIp(match[1]!);
  const prefix = Number(match[2]);
  if (!ip || prefix > BITS[ip.family]) return undefined;
  return { family: ip.family, address: ip.value, prefix, text };
}

function hostBits(family: 4 | 6, prefix: number): bigint {
  return (1n << BigInt(BITS[family] - prefix)) - 1n;
}

function mask(family: 4 | 6, prefix: number): bigint {
  return ((1n << BigInt(BITS[family])) - 1n) ^ hostBits(family, prefix);
}

/** host-local refuses a subnet whose host bits are set ("10.0.0.1/24"). */
export function isNetworkAddress(cidr: Cidr): boolean {
  return (cidr.address & mask(cidr.family, cidr.prefix)) === cidr.address;
}

/** The prefix with its host bits cleared, written out ("10.244.1.5/24" -> "10.244.1.0/24"). */
export function networkText(cidr: Cidr): string {
  return `${formatIp(cidr.family, cidr.address & mask(cidr.family, cidr.prefix))}/${cidr.prefix}`;
}

/** An address in its usual text form: dotted IPv4, or IPv6 with the longest run of zero groups as "::". */
export function formatIp(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (best.start < 0) return hex(groups);
  return `${hex(groups.slice(0, best.start))}::${hex(groups.slice(best.start + best.length))}`;
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && (inner.address & mask(outer.family, outer.prefix)) === (outer.address & mask(outer.family, outer.prefix));
}

/**
 * For each prefix, the lowest earlier position whose prefix overlaps it (undefined: none), as a
 * pairwise scan would find, in O(n log n). Two prefixes overlap exactly when one contains the other,
 * so sorted by start address (wider first) they nest like brackets: a prefix overlaps the prefixes
 * open around it (its ancestors) and the prefixes opened inside it (its descendants).
 */
export function firstOverlaps(cidrs: readonly Cidr[]): (number | undefined)[] {
  const ranges = cidrs.map((cidr, index) => {
    const start = cidr.address & mask(cidr.family, cidr.prefix);
    return { index, family: cidr.family, start, end: start | hostBits(cidr.family, cidr.prefix), ancestors: Infinity, descendants: Infinity };
  });
  const compare = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  const order = [...ranges].sort((a, b) => a.family - b.family || compare(a.start, b.start) || compare(b.end, a.end) || a.index - b.index);
  // The ranges around the current one, innermost last; each lowest index found is carried inward (ancestors) or outward (descendants).
  const open: typeof ranges = [];
  const close = () => {
    const done = open.pop()!;
    const parent = open.at(-1);
    if (parent) parent.descendants = Math.min(parent.descendants, done.index, done.descendants);
  };
  for (const range of order) {
    while (open.length > 0 && (open.at(-1)!.family !== range.family || open.at(-1)!.end < range.start)) close();
    const parent = open.at(-1);
    if (parent) range.ancestors = Math.min(parent.index, parent.ancestors);
    open.push(range);
  }
  while (open.length > 0) close();
  return ranges.map((r) => {
    const first = Math.min(r.ancestors, r.descendants);
    return first < r.index ? first : undefined;
  });
}

export function ipInCidr(ip: string, cidr: Cidr): boolean {
  const parsed = parseIp(ip);
  return !!parsed && parsed.family === cidr.family && (parsed.value & mask(cidr.family, cidr.prefix)) === (cidr.address & mask(cidr.family, cidr.prefix));
}
