/**
 * What the render of a stack says each node should have, in the terms a read-only probe can check:
 * files (bytes, mode, owner), pinned packages and daemon versions, units, and the files whose change
 * needs a daemon restart. Pure: built from the same plan `npm run render` writes.
 */
import { RuntimeConfig } from "../config/cluster";
import { wantedPlugins } from "../config/network-checks";
import { StackConfig } from "../config/stack";
import { CNI_PLUGINS_STEP, cniPackageSpec } from "../components/network/cni-plugins";
import { CONTAINERD_UNIT } from "../components/runtime/containerd-steps";
import { daemonEffects } from "../components/runtime/daemon-effects";
import { CRIO_UNIT } from "../components/runtime/crio-steps";
import { daemonPackageSpec } from "../components/runtime/daemon-install";
import { SWAP_STEPS } from "../components/runtime/runtime-swap";
import { ClusterPlan, ConnectionFacts, NodePlan } from "../plan/cluster-plan";
import { sha256 } from "../util/hash";

/** Every step runs as root and creates files as root. */
export const OWNER = "root:root";

/**
 * `exact`: the plan holds the file's bytes. `recorded`: the node makes the bytes (binaries from a
 * package or a tarball, a config completed with secrets), so the reference is the sha256 the step
 * recorded in its ownership list (kp_record_owned) when it last wrote the file.
 */
export type ExpectedContent = { readonly kind: "exact"; readonly sha256: string } | { readonly kind: "recorded" };

export interface ExpectedFile {
  readonly path: string;
  /** The step that owns it: its ownership list on the node holds the recorded hash. */
  readonly step: string;
  readonly content: ExpectedContent;
  /** Octal permission bits; absent when the step keeps the source's mode. */
  readonly mode?: number;
  readonly owner: string;
}

export interface ExpectedPackage {
  readonly name: string;
  /** An apt version glob, as kp_apt_install gets it: `2.1.9*`. */
  readonly version: string;
}

export interface ExpectedUnit {
  /** The systemd unit, without `.service`; it should be active and enabled. */
  readonly name: string;
  /** Its daemon binary, which reports the version (`containerd --version`). */
  readonly binary: string;
  /** X.Y.Z the config is rendered for. */
  readonly version: string;
  /** Files the daemon reads only at start: one changed after the start means a restart is pending. */
  readonly restartFiles: readonly string[];
}

export interface ExpectedNode {
  readonly node: string;
  readonly connection: ConnectionFacts;
  /** Steps whose ownership lists the probe reads. */
  readonly steps: readonly string[];
  readonly files: readonly ExpectedFile[];
  readonly packages: readonly ExpectedPackage[];
  readonly units: readonly ExpectedUnit[];
}

/**
 * A runtime swap moves a node once and then its steps are done: what they leave (the rollback script,
 * a repointed kubelet file) is not state the stack keeps, so the drift check leaves them out.
 */
const TRANSIENT_STEPS: ReadonlySet<string> = new Set(Object.values(SWAP_STEPS));

export function expectedState(config: StackConfig, plan: ClusterPlan): ExpectedNode[] {
  return plan.nodes.map((node) => expectedNode(config, node));
}

function expectedNode(config: StackConfig, node: NodePlan): ExpectedNode {
  const steps = node.steps.filter((s) => !TRANSIENT_STEPS.has(s.id));
  const rendered = steps.flatMap((step) =>
    step.files.map((file): ExpectedFile => ({
      path: file.path,
      step: step.id,
      content: step.secret?.completes?.includes(file.path) ? { kind: "recorded" } : { kind: "exact", sha256: sha256(file.content) },
      mode: file.mode,
      owner: OWNER,
    })),
  );
  const network = networkExpectations(config, steps.some((s) => s.id === CNI_PLUGINS_STEP));
  const daemon = daemonExpectations(node.pool.runtime);
  const paths = new Set(rendered.map((f) => f.path));
  return {
    node: node.node.name,
    connection: node.connection,
    steps: steps.map((s) => s.id),
    files: [...rendered, ...network.files],
    packages: [...daemon.packages, ...network.packages],
    units: [{ ...daemon.unit, restartFiles: daemon.unit.restartFiles.filter((p) => paths.has(p)) }],
  };
}

/** The daemon of a pool's runtime: its unit, the package that pins it, the files it reads at start. */
function daemonExpectations(runtime: RuntimeConfig): { unit: ExpectedUnit; packages: ExpectedPackage[] } {
  const packages = (install: RuntimeConfig["install"]) => (install.from === "package" ? [packageOf(daemonPackageSpec(install, runtime.version))] : []);
  switch (runtime.kind) {
    case "containerd":
      return {
        unit: { name: CONTAINERD_UNIT, binary: "containerd", version: runtime.version, restartFiles: daemonEffects("containerd").restartFiles },
        packages: packages(runtime.install),
      };
    case "crio":
      return {
        unit: { name: CRIO_UNIT, binary: "crio", version: runtime.version, restartFiles: daemonEffects("crio").restartFiles },
        packages: packages(runtime.install),
      };
    default: {
      const never: never = runtime;
      throw new Error(`unhandled runtime ${JSON.stringify(never)}`);
    }
  }
}

/** The reference plugins kubeplug owns in binDir (bytes from the release or package) and the package. */
function networkExpectations(config: StackConfig, planned: boolean): { files: ExpectedFile[]; packages: ExpectedPackage[] } {
  const install = config.network.cni.plugins.install;
  if (!planned || install.from === "none") return { files: [], packages: [] };
  return {
    files: wantedPlugins(config.network).map((plugin) => ({ path: `${config.network.cni.binDir}/${plugin}`, step: CNI_PLUGINS_STEP, content: { kind: "recorded" }, mode: 0o755, owner: OWNER })),
    packages: install.from === "package" ? [packageOf(cniPackageSpec(install))] : [],
  };
}

function packageOf(spec: string): ExpectedPackage {
  const at = spec.indexOf("=");
  return { name: spec.slice(0, at), version: spec.slice(at + 1) };
}

