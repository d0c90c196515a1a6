/**
 * What a stack puts into Pulumi's state: runs the Cluster component under pulumi.runtime.setMocks (a
 * stand-in for the engine, which cannot run here) for the prod stack and for the generated stack of
 * bench/render-stack.ts, and prints the bytes of the inputs of every command:remote resource (what
 * the engine stores as inputs, and again as outputs), per node, with the program's wall time and
 * peak RSS. Each stack runs in a fresh process, so its RSS is its own.
 *
 *   tsx bench/state-size.ts [nodes]      # default: prod and 1000 generated nodes
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import yaml from "js-yaml";
import { Cluster } from "../src/components/cluster";
import { forEachSecretRef } from "../src/config/cluster-checks";
import { secretRefId } from "../src/config/secrets";
import { validateStackConfig } from "../src/config/stack";
import { planCluster } from "../src/plan/cluster-plan";
import { stackValues } from "./render-stack";

const CHILD = "--one-stack";

export interface StateSample {
  readonly stack: string;
  readonly sourceMaps: boolean;
  readonly nodes: number;
  readonly commands: number;
  readonly uploads: number;
  readonly inputBytes: number;
  readonly seconds: number;
  readonly peakMiB: number;
}

function peakRssMiB(): number {
  const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  return Number(kib) / 1024;
}

function values(stack: string): Record<string, unknown> {
  if (stack !== "prod") return stackValues(Number(stack));
  const doc = yaml.load(readFileSync(join(__dirname, "..", "stacks", "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
  return doc.config;
}

async function measure(stack: string, sourceMaps: boolean): Promise<StateSample> {
  const started = process.hrtime.bigint();
  let inputBytes = 0;
  let commands = 0;
  let uploads = 0;
  let last = Date.now();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        last = Date.now();
        if (args.type === "command:remote:Command" || args.type === "command:remote:CopyToRemote") {
          // An asset is stored as its hash and path; secrets as their plaintext inside a marker object.
          inputBytes += Buffer.byteLength(JSON.stringify(args.inputs, (_, v) => (v instanceof pulumi.asset.FileAsset ? { hash: "0".repeat(64), path: "p".repeat(64) } : v)));
          if (args.type === "command:remote:Command") commands++;
          else uploads++;
        }
        return { id: `${args.name}-id`, state: { ...args.inputs, stdout: "" } };
      },
      call: () => ({}),
    },
    "kubeplug",
    "bench",
  );
  const { config } = validateStackConfig("bench", values(stack));
  const plan = planCluster(config);
  const secrets: Record<string, string> = {};
  forEachSecretRef(config.cluster, (ref) => (secrets[secretRefId(ref)] = "stand-in secret"));
  await pulumi.runtime.runInPulumiStack(async () => {
    new Cluster("bench", { plan, secrets, readPrivateKey: () => "stand-in private key" });
  });
  // Commands register once their dependencies resolved: wait until none has for a while.
  while (Date.now() - last < 500) await new Promise((r) => setTimeout(r, 50));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9 - 0.5;
  return { stack: stack === "prod" ? "prod" : `generated`, sourceMaps, nodes: plan.nodes.length, commands, uploads, inputBytes, seconds, peakMiB: peakRssMiB() };
}

/** Each stack once with source maps on (a program run by tsx or ts-node) and once with them off (compiled JS). */
export function stateSizes(stacks: readonly string[]): StateSample[] {
  return stacks.flatMap((stack) => ["on", "off"].map((sourceMaps) => ({ stack, sourceMaps }))).map(({ stack, sourceMaps }) => {
    const child = spawnSync(process.execPath, [...process.execArgv, __filename, CHILD, stack, sourceMaps], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (child.status !== 0) throw new Error(`the ${stack} run exited with ${child.status ?? child.signal}`);
    return JSON.parse(child.stdout.trim().split("\n").pop()!) as StateSample;
  });
}

export function stateTable(samples: readonly StateSample[]): string {
  const header = ["stack", "source maps", "nodes", "Commands", "uploads", "inputs", "per node", "program", "peak RSS"];
  const rows = samples.map((s) => [
    s.stack,
    s.sourceMaps ? "on" : "off",
    String(s.nodes),
    String(s.commands),
    String(s.uploads),
    `${(s.inputBytes / 2 ** 20).toFixed(2)} MiB`,
    `${(s.inputBytes / s.nodes / 1024).toFixed(1)} KiB`,
    `${s.seconds.toFixed(2)} s`,
    `${s.peakMiB.toFixed(0)} MiB`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  return [header, ...rows].map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd()).join("\n");
}

if (process.argv[2] === CHILD) {
  // tsx turns source maps on, which makes every stack the SDK captures (one per promise and per
  // resource) cost a source-map lookup; a program run from compiled JS, as the package ships it, has them off.
  const sourceMaps = process.argv[4] === "on";
  process.setSourceMapsEnabled(sourceMaps);
  void measure(process.argv[3]!, sourceMaps).then((sample) => {
    process.stdout.write(`${JSON.stringify(sample)}\n`);
    process.exit(0);
  });
} else if (require.main === module) {
  console.log("kubeplug state size under pulumi.runtime.setMocks (a stand-in for the engine): inputs of every command:remote resource");
  console.log(stateTable(stateSizes(["prod", process.argv[2] ?? "1000"])));
}
