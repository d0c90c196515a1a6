import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_RUNTIME_SPEC_DIR, renderContainerd } from "../../src/components/runtime/containerd-render";
import { validateStackConfig } from "../../src/config/stack";
import { containerdBinDir, debianContainerdVersion } from "../support/containerd-binaries";
import { CriClient, PodSandboxConfig } from "../support/cri/client";
import { BUSYBOX_IMAGE, IMAGE_TOOLS, importImages } from "../support/oci-image";
import { PRIVATE_CONTAINERD_TOOLS, PrivateContainerd, sandboxImageOf, startPrivateContainerd } from "../support/private-containerd";
import { missingTools } from "../support/tools";

// A handler's base runtime spec, run for real: kubeplug renders the spec file and points base_runtime_spec at it,
// a private containerd (1.6, 1.7, 2.1 from Debian) starts a pod through the CRI on that handler, and the container
// shows the spec's settings. The spec starts from `ctr oci spec` of the same containerd, as docs/runtimes.md tells
// users to, because containerd uses the file instead of its built-in default spec, not merged with it.
const skip = missingTools([...PRIVATE_CONTAINERD_TOOLS, ...IMAGE_TOOLS], true);

const NOFILE = 4242;

type Spec = { process: { rlimits?: { type: string; hard: number; soft: number }[] } } & Record<string, unknown>;

function baseSpec(ctr: string): Spec {
  const spec = JSON.parse(execFileSync(ctr, ["oci", "spec"], { encoding: "utf8" })) as Spec;
  spec.process.rlimits = [{ type: "RLIMIT_NOFILE", hard: NOFILE, soft: NOFILE }];
  return spec;
}

function rendered(version: string, spec: Spec) {
  const { config } = validateStackConfig("spec", {
    "kubeplug:cluster": {
      name: "spec",
      kubelet: { cgroupDriver: "cgroupfs" },
      ssh: { privateKeyPath: "k", insecureSkipHostKeyCheck: true },
      pools: [{ name: "p", runtime: { kind: "containerd", version, runtimes: { runc: { engine: "runc", install: { from: "package" } }, limited: { engine: "runc", install: { from: "package" }, baseRuntimeSpec: spec } } } }],
      nodes: [{ name: "n", pool: "p", address: "192.0.2.1" }],
    },
  });
  const runtime = config.cluster.pools[0]!.runtime;
  if (runtime.kind !== "containerd") throw new Error("expected a containerd pool");
  return renderContainerd(runtime, { pool: "p", cgroupDriver: "cgroupfs", cni: config.network.cni });
}

const sandbox = (name: string): PodSandboxConfig => ({
  metadata: { name, uid: `${name}-uid`, namespace: "kp-spec" },
  linux: { securityContext: { namespaceOptions: { network: "NODE" } } },
});

describe.skipIf(skip)(`a handler's base runtime spec, in a real pod${skip ? ` (skipped: ${skip})` : ""}`, () => {
  describe.each(["1.6", "1.7", "2.1"] as const)("containerd %s", (line) => {
    let c: PrivateContainerd | undefined;
    let cri: CriClient | undefined;
    const pods: string[] = [];

    beforeAll(async () => {
      const workDir = mkdtempSync("/tmp/kp-spec-");
      const ctr = join(containerdBinDir(line), "ctr");
      const out = rendered(debianContainerdVersion(line), baseSpec(ctr));
      const [file] = out.runtimeFiles.filter((f) => f.path.startsWith(`${BASE_RUNTIME_SPEC_DIR}/`));
      // The spec goes into the test's own dir, not the machine's /etc; the config is otherwise as rendered.
      const local = join(workDir, "base-spec.json");
      writeFileSync(local, file!.content);
      const configToml = out.configToml.replace(file!.path, local);
      expect(configToml).not.toBe(out.configToml);
      try {
        c = await startPrivateContainerd({ configToml, binDir: containerdBinDir(line), workDir });
      } catch (err) {
        rmSync(workDir, { recursive: true, force: true });
        throw err;
      }
      cri = new CriClient(c.address);
      await importImages(c.address, { pause: [sandboxImageOf(configToml)!] }, c.ctr);
    });
    afterAll(async () => {
      try {
        for (const id of pods) await cri!.stopPodSandbox(id).then(() => cri!.removePodSandbox(id)).catch(() => undefined);
      } finally {
        cri?.close();
        await c?.stop();
        if (c) rmSync(c.workDir, { recursive: true, force: true });
      }
    });

    async function openFileLimit(handler: string): Promise<string> {
      const config = sandbox(`pod-${handler}`);
      const pod = await cri!.runPodSandbox(config, handler);
      pods.push(pod);
      const id = await cri!.createContainer(pod, { metadata: { name: "c" }, image: { image: BUSYBOX_IMAGE }, command: ["sleep", "3600"] }, config);
      await cri!.startContainer(id);
      const result = await cri!.execSync(id, ["sh", "-c", "ulimit -n"]);
      expect(result.exitCode, result.stderr).toBe(0);
      return result.stdout.trim();
    }

    it("a pod on the handler with the base spec gets the spec's open-file limit", async () => {
      expect(await openFileLimit("limited")).toBe(String(NOFILE));
    });

    it("a pod on a handler without one keeps containerd's default", async () => {
      expect(await openFileLimit("runc")).not.toBe(String(NOFILE));
    });
  });
});
