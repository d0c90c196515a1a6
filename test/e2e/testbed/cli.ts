/**
 * The test bed by hand, for `pulumi up` against stacks/Pulumi.dev.yaml:
 *
 *   npm run testbed -- up [--nodes 3]   boots node1..N at 10.231.0.11.., key in .testbed/id_ed25519
 *   npm run testbed -- down             stops it, and any bed a dead test run left behind
 */
import { chmodSync, copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { destroyLeftovers, startTestbed, testbedNodes, testbedUnavailableReason } from "./index";

const REPO_ROOT = join(__dirname, "..", "..", "..");
// Where stacks/Pulumi.dev.yaml looks for the key (ssh.privateKeyPath); .testbed/ is git-ignored.
const KEY = join(REPO_ROOT, ".testbed", "id_ed25519");
const USAGE = "usage: npm run testbed -- up [--nodes N] | down";

async function up(args: string[]): Promise<void> {
  const count = nodeCount(args);
  const started = Date.now();
  const bed = await startTestbed({ nodes: testbedNodes(count), keepAfterExit: true });
  mkdirSync(join(REPO_ROOT, ".testbed"), { recursive: true });
  copyFileSync(bed.keyPath, KEY);
  chmodSync(KEY, 0o600);
  const key = relative(process.cwd(), KEY);
  console.log(`test bed up in ${((Date.now() - started) / 1000).toFixed(1)} s (${bed.dir})`);
  for (const node of bed.nodes) {
    console.log(`  ${node.name}  ${node.address}  ssh -i ${key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@${node.address}`);
  }
  console.log(`mirror: ${bed.mirrorUrl}/debian (the nodes' only apt source), ${bed.mirrorUrl}/releases (stand-in release tarballs)`);
  console.log("stop it with: npm run testbed -- down");
}

function nodeCount(args: string[]): number {
  let count = Number.NaN;
  try {
    count = Number(parseArgs({ args, options: { nodes: { type: "string", default: "3" } } }).values.nodes);
  } catch {
    // Unknown flags and stray arguments fall through to the usage message.
  }
  if (!Number.isInteger(count) || count < 1 || count > 50) fail(USAGE);
  return count;
}

function down(): void {
  for (const dir of destroyLeftovers()) console.log(`removed test bed ${dir}`);
  rmSync(KEY, { force: true });
}

function fail(message: string): never {
  console.error(message);
  process.exit(64);
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  const unavailable = testbedUnavailableReason();
  if (unavailable) fail(`the test bed cannot run here: ${unavailable}`);
  if (command === "up") await up(args);
  else if (command === "down" && args.length === 0) down();
  else fail(USAGE);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
