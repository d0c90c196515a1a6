import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { conflist, ipamConfig } from "../../src/config/cni-conflist";
import { networkConfig } from "../../src/config/network";
import { zodProblems } from "../../src/config/zod";
import { renderConflists } from "../../src/components/network/cni-conflist";

// The conflist model checked against upstream's own examples (test/fixtures/cni-upstream/SOURCE.md):
// each must parse and render back to the same JSON, except where kubeplug deliberately refuses what
// the example shows; those refusals are listed with the reason and the exact message.
const dir = join(__dirname, "..", "fixtures", "cni-upstream");
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
type Json = Record<string, unknown>;

/** Deliberate refusals: the message, and the edit that makes the rest of the example acceptable. */
const REFUSED: Record<string, { why: string; message: string; fix: (list: Json) => void }> = {
  "spec-v1.0.0-example.json": {
    why: "keyA stands for 'plugin-specific keys'; bridge does not read it, and kubeplug refuses keys a reference plugin ignores (typos)",
    message: "plugins[0].keyA: unknown key; known keys here: type, bridge, isGateway, isDefaultGateway, forceAddress, ipMasq, ipMasqBackend, mtu, hairpinMode, promiscMode, vlan, macspoofchk, enabledad, portIsolation, vlanTrunk, preserveDefaultVlan, disableContainerInterface, ipam, capabilities, dns",
    fix: (list) => delete (list.plugins as Json[])[0]!.keyA,
  },
  "spec-v1.3.0-example.json": {
    why: "as in the 1.0.0 example",
    message: "plugins[0].keyA: unknown key; known keys here: type, bridge, isGateway, isDefaultGateway, forceAddress, ipMasq, ipMasqBackend, mtu, hairpinMode, promiscMode, vlan, macspoofchk, enabledad, portIsolation, vlanTrunk, preserveDefaultVlan, disableContainerInterface, ipam, capabilities, dns",
    fix: (list) => delete (list.plugins as Json[])[0]!.keyA,
  },
  "cnidev-main-bridge-3.json": {
    why: 'the doc quotes "true"; bridge decodes portIsolation into a Go bool, which a JSON string fails',
    message: 'plugins[0].portIsolation: expected a boolean, got "true"',
    fix: (list) => ((list.plugins as Json[])[0]!.portIsolation = true),
  },
  "cnidev-main-host-device-3.json": {
    why: "the doc shows what the runtime passes (runtimeConfig), not a file an operator writes",
    message: 'plugins[0].runtimeConfig: "runtimeConfig" is reserved for the runtime; a network configuration must not set it',
    fix: (list) => delete (list.plugins as Json[])[0]!.runtimeConfig,
  },
  "cnidev-main-tap-0.json": {
    why: "Go matches JSON keys case-insensitively; kubeplug wants the field's own spelling, selinuxContext",
    message: 'plugins[0].selinuxcontext: unknown key; did you mean "selinuxContext"?',
    fix: (list) => {
      const tap = (list.plugins as Json[])[0]!;
      tap.selinuxContext = tap.selinuxcontext;
      delete tap.selinuxcontext;
    },
  },
  "cnidev-meta-bandwidth-0.json": {
    why: "a `name` inside a plugin object is neither in the spec nor read by bandwidth",
    message: "plugins[1].name: unknown key; known keys here: type, ingressRate, ingressBurst, egressRate, egressBurst, capabilities, dns",
    fix: (list) => delete (list.plugins as Json[])[1]!.name,
  },
};

/** Single-plugin examples become a one-plugin list, as runtimes up-convert `.conf` files. */
function asList(example: Json): Json {
  if (example.plugins) return structuredClone(example);
  const { name, cniVersion, ...plugin } = example;
  return { cniVersion: cniVersion ?? "1.0.0", name: name ?? "example", plugins: [plugin] };
}

function problems(list: Json): string[] {
  const parsed = conflist.safeParse(list, { reportInput: true });
  return parsed.success ? [] : zodProblems("", parsed.error).map((p) => `${p.path.replace(/^\./, "")}: ${p.message}`);
}

/** What kubeplug writes for the list on a node: must be the upstream JSON, key for key. */
function rendered(list: Json): Json {
  const network = networkConfig.parse({ cni: { conflists: [list] } });
  return JSON.parse(renderConflists(network, { name: "n1", arch: "amd64", pool: "p" })[0]!.content) as Json;
}

describe("upstream CNI example configurations", () => {
  it("covers the spec examples and the reference plugin docs", () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
  });

  it.each(files)("%s", (file) => {
    const example = JSON.parse(readFileSync(join(dir, file), "utf8")) as Json;
    if (!example.plugins && !example.type && example.ipam) {
      const parsed = ipamConfig.safeParse(example.ipam);
      expect(parsed.success && parsed.data).toEqual(example.ipam);
      return;
    }
    const list = asList(example);
    const refused = REFUSED[file];
    if (refused) {
      expect(problems(list), refused.why).toEqual([refused.message]);
      refused.fix(list);
    }
    expect(problems(list)).toEqual([]);
    const expected = { ...list, cniVersion: list.cniVersion ?? "1.0.0" };
    expect(rendered(list)).toEqual(expected);
  });
});
