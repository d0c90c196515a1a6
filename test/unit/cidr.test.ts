import { describe, expect, it } from "vitest";
import { formatIp, isNetworkAddress, networkText, parseCidr, parseIp } from "../../src/util/cidr";

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
