import { describe, expect, it } from "vitest";
import { Cidr, cidrContains, firstOverlaps, formatIp, isNetworkAddress, networkText, parseCidr, parseIp } from "../../src/util/cidr";

describe("CIDR helpers", () => {
  it.each([
    ["10.244.1.5/24", "10.244.1.0/24", false],
    ["10.244.1.0/24", "10.244.1.0/24", true],
    ["192.168.7.255/20", "192.168.0.0/20", false],
    ["0.0.0.1/0", "0.0.0.0/0", false],
    ["fd00:10:244:1::5/64", "fd00:10:244:1::/64", false],
    ["2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128", true],
    ["fd00::1/8", "fd00::/8", false],
  ])("the network of %s is %s", (text, network, isNetwork) => {
    const cidr = parseCidr(text)!;
    expect(networkText(cidr)).toBe(network);
    expect(isNetworkAddress(cidr)).toBe(isNetwork);
  });

  it.each(["10.0.0.1", "::", "::1", "1::", "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "1:0:0:2::3", "1:0:2::3:0:0"])("formats %s back as it parses", (text) => {
    const ip = parseIp(text)!;
    expect(formatIp(ip.family, ip.value)).toBe(text);
  });
});

/** The pairwise scan firstOverlaps replaces: for each prefix, the first earlier one that contains it or that it contains. */
function pairwiseFirstOverlaps(cidrs: readonly Cidr[]): (number | undefined)[] {
  return cidrs.map((cidr, i) => {
    const j = cidrs.slice(0, i).findIndex((other) => cidrContains(other, cidr) || cidrContains(cidr, other));
    return j < 0 ? undefined : j;
  });
}

/** mulberry32: a fixed seed gives the same inputs on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("firstOverlaps", () => {
  const parse = (texts: string[]) => texts.map((t) => parseCidr(t)!);

  it.each([
    ["nested, wider first", ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"], [undefined, 0, 0]],
    ["nested, narrower first", ["10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8"], [undefined, 0, 0]],
    ["adjacent", ["10.0.0.0/25", "10.0.0.128/25", "10.0.1.0/24"], [undefined, undefined, undefined]],
    ["identical", ["10.0.0.0/24", "10.0.0.0/24", "10.0.0.0/24"], [undefined, 0, 0]],
    ["host bits set", ["10.0.0.5/24", "10.0.0.0/24"], [undefined, 0]],
    ["the lowest earlier one, not the nearest", ["10.0.1.0/24", "10.0.0.0/24", "10.0.0.0/16"], [undefined, undefined, 0]],
    ["a sibling between parent and child", ["10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24", "10.0.2.128/25"], [undefined, 0, 0, 0]],
    ["a /0 takes its family only", ["0.0.0.0/0", "::/0", "10.0.0.0/8", "fd00::/8"], [undefined, undefined, 0, 1]],
    ["IPv4 and IPv6 of the same value", ["10.0.0.0/8", "::a00:0/104"], [undefined, undefined]],
    ["IPv6 nested", ["fd00:10:244:1::/64", "fd00:10:244::/48", "fd00:10:245::/48"], [undefined, 0, undefined]],
  ])("%s", (_, texts, expected) => {
    expect(firstOverlaps(parse(texts))).toEqual(expected);
    expect(pairwiseFirstOverlaps(parse(texts))).toEqual(expected);
  });

  it("agrees with the pairwise scan on random prefixes of both families", () => {
    const next = random(14);
    const pick = (n: number) => Math.floor(next() * n);
    for (let round = 0; round < 200; round++) {
      const texts = Array.from({ length: 1 + pick(60) }, () =>
        next() < 0.7
          ? `10.${pick(4)}.${pick(4)}.${pick(256)}/${8 + pick(25)}`
          : `fd00:${pick(3).toString(16)}:${pick(3).toString(16)}::${pick(65536).toString(16)}/${16 + pick(113)}`,
      );
      const cidrs = parse(texts);
      expect(firstOverlaps(cidrs), texts.join(" ")).toEqual(pairwiseFirstOverlaps(cidrs));
    }
  });
});
