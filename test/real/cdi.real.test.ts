import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerdFeatures } from "../../src/catalog/containerd-features";
import { RenderedContainerd, renderContainerd } from "../../src/components/runtime/containerd-render";
import { parseStackFile } from "../../src/config/stack";
import { containerdBinDir, DebianContainerdLine } from "../support/containerd-binaries";
import { CriClient, PodSandboxConfig } from "../support/cri/client";
import { BUSYBOX_IMAGE, IMAGE_TOOLS, importImages } from "../support/oci-image";
import { PRIVATE_CONTAINERD_TOOLS, PrivateContainerd, sandboxImageOf, startPrivateContainerd } from "../support/private-containerd";
import { missingTools } from "../support/tools";
import { onePoolStack } from "../support/stack-yaml";

// CDI as kubeplug turns it on for an nvidia pool, proven with a real containerd: the config.toml kubeplug rendered
// for a pool with an nvidia handler and `cdi.specDirs` pointing at a test directory goes (with only the private
// daemon's own paths moved) to Debian trixie's containerd 1.7.24 (config v2, where CDI is off unless enable_cdi)
// and sid's 2.1.9 (config v3). A CDI spec file there describes a harmless test device: /dev/null re-exposed at
// /dev/kubeplug-test0, an env var and a read-only mount. A container that asks for it through the CRI (the
// CDIDevices field kubelet fills from a device plugin, or the older cdi.k8s.io/ annotation) must see all three.
//
// Stand-in: nvidia-container-runtime is in no Debian suite and cannot be installed here, so the nvidia handler is
// `install: { from: preinstalled, path: /usr/sbin/runc }`: the same runc-shim handler table kubeplug renders for the
// toolkit, with runc as its BinaryName. CDI injection happens in containerd before the OCI runtime runs, so it
// does not depend on that binary; what the toolkit's own runtime adds on a GPU node is not proven here.

const RUNC = "/usr/sbin/runc";
const KIND = "kubeplug.test/device";
const DEVICE_PATH = "/dev/kubeplug-test0";
const MOUNT_PATH = "/kubeplug-cdi";

const skip = missingTools([...PRIVATE_CONTAINERD_TOOLS, ...IMAGE_TOOLS], true) ?? (existsSync(RUNC) ? undefined : `needs ${RUNC} (apt-get install runc)`);

const VARIANTS = [
  ["containerd 1.7.24 (trixie) with a v2 config", { line: "1.7" as DebianContainerdLine, version: "1.7.24" }],
  ["containerd 2.1.9 (sid) with a v3 config", { line: "2.1" as DebianContainerdLine, version: "2.1.9" }],
] as const;

/** A GPU pool as a user writes it, but with runc standing in for nvidia-container-runtime. cgroupfs: PID 1 here is not systemd. */
function stackYaml(version: string, specDir: string): string {
  return onePoolStack({
    name: "cdi",
    pool: "gpu",
    cgroupDriver: "cgroupfs",
    runtime: `kind: containerd
version: ${version}
cdi: { specDirs: [${specDir}] }
runtimes:
  runc: { engine: runc, install: { from: package } }
  nvidia: { engine: nvidia, install: { from: preinstalled, path: ${RUNC} } }`,
  });
}

function render(version: string, specDir: string): RenderedContainerd {
  const { config } = parseStackFile("cdi", stackYaml(version, specDir), `cdi-${version}.yaml`);
  const runtime = config.cluster.pools[0]!.runtime;
  if (runtime.kind !== "containerd") throw new Error("expected a containerd pool");
  return renderContainerd(runtime, { pool: "gpu", cgroupDriver: config.cluster.kubelet.cgroupDriver, cni: config.network.cni });
}

/** The CDI spec (container-device-interface SPEC.md, version 0.6.0: read by CDI 0.7.2 in 1.7.24 and 1.0.1 in 2.1.9). */
function cdiSpec(payloadDir: string): object {
  return {
    cdiVersion: "0.6.0",
    kind: KIND,
    devices: [
      {
        name: "test0",
        containerEdits: {
          deviceNodes: [{ path: DEVICE_PATH, hostPath: "/dev/null", permissions: "rw" }],
          env: ["KUBEPLUG_CDI_DEVICE=test0"],
          mounts: [{ hostPath: payloadDir, containerPath: MOUNT_PATH, options: ["ro", "bind"] }],
        },
      },
    ],
    containerEdits: { env: ["KUBEPLUG_CDI_KIND=kubeplug.test"] },
  };
}

/** The rendered config without `enable_cdi`: what the same pool would get if kubeplug left CDI to containerd's default. */
function withoutEnableCdi(configToml: string, plugin: string): string {
  const lines = configToml.split("\n");
  const at = lines.findIndex((l) => l === `[plugins."${plugin}"]`);
  const key = lines.findIndex((l, i) => i > at && l.startsWith("enable_cdi = "));
  if (at < 0 || key < 0) throw new Error(`no enable_cdi under ${plugin} in the rendered config`);
  return lines.filter((_, i) => i !== key).join("\n");
}

describe.skipIf(skip)(`CDI devices through the config kubeplug renders for an nvidia pool${skip ? ` (skipped: ${skip})` : ""}`, () => {
  describe.each(VARIANTS)("%s", (_title, { line, version }) => {
    const testDir = mkdtempSync("/tmp/kp-cdi-");
    const specDir = join(testDir, "cdi");
    const payloadDir = join(testDir, "payload");
    const rendered = render(version, specDir);
    const features = containerdFeatures(version)!;
    let c: PrivateContainerd | undefined;
    let cri: CriClient | undefined;

    beforeAll(async () => {
      mkdirSync(specDir);
      mkdirSync(payloadDir);
      writeFileSync(join(payloadDir, "hello"), "from the host, through CDI\n");
      writeFileSync(join(specDir, "kubeplug-test.json"), JSON.stringify(cdiSpec(payloadDir), null, 2));
      const workDir = join(testDir, "c");
      mkdirSync(workDir);
      c = await startPrivateContainerd({ configToml: rendered.configToml, binDir: containerdBinDir(line), workDir });
      cri = new CriClient(c.address);
      await importImages(c.address, { pause: [sandboxImageOf(rendered.configToml)!] }, c.ctr);
    });
    afterAll(async () => {
      try {
        cri?.close();
        await c?.stop(); // removes every pod the tests left, then ends shims and undoes mounts
      } finally {
        rmSync(testDir, { recursive: true, force: true });
      }
    });

    it("renders CDI on the CRI plugin's table and the nvidia handler as a runc-shim table with the stand-in binary", () => {
      const toml = parse(rendered.configToml) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      const cri = toml.plugins[features.criRuntimePlugin];
      expect(cri.enable_cdi).toBe(true);
      expect(cri.cdi_spec_dirs).toEqual([specDir]);
      expect(cri.containerd.runtimes.nvidia).toEqual({ runtime_type: "io.containerd.runc.v2", options: { BinaryName: RUNC, SystemdCgroup: false } });
    });

    it("containerd reads enable_cdi and the spec dirs as rendered", async () => {
      const config = JSON.parse((await cri!.status(true)).info.config!) as { enableCDI?: boolean; cdiSpecDirs?: string[] };
      expect(config.enableCDI).toBe(true);
      expect(config.cdiSpecDirs).toEqual([specDir]);
    });

    const sandbox = (name: string): PodSandboxConfig => ({
      metadata: { name, uid: `${name}-uid`, namespace: "kp-cdi" },
      // The node's network (the private containerd's own namespace): CDI needs no pod network.
      linux: { securityContext: { namespaceOptions: { network: "NODE" } } },
    });

    async function podWith(name: string, request: { CDIDevices?: { name: string }[]; annotations?: Record<string, string> }) {
      const config = sandbox(name);
      const podId = await cri!.runPodSandbox(config, "nvidia");
      const containerId = await cri!.createContainer(podId, { metadata: { name: "gpu" }, image: { image: BUSYBOX_IMAGE }, command: ["sleep", "3600"], ...request }, config);
      await cri!.startContainer(containerId);
      return { podId, containerId };
    }

    async function expectInjected(containerId: string): Promise<void> {
      const exec = async (...cmd: string[]) => {
        const r = await cri!.execSync(containerId, cmd, 10);
        expect(r.exitCode, `${cmd.join(" ")}: ${r.stderr}`).toBe(0);
        return r.stdout;
      };
      // The device node: /dev/null's numbers (1, 3) at the new path, and it works as /dev/null.
      expect((await exec("stat", "-c", "%F %t:%T", DEVICE_PATH)).trim()).toBe("character special file 1:3");
      expect(await exec("sh", "-c", `echo gone > ${DEVICE_PATH} && cat ${DEVICE_PATH} | wc -c`)).toBe("0\n");
      const env = await exec("env");
      expect(env).toContain("KUBEPLUG_CDI_DEVICE=test0\n");
      expect(env).toContain("KUBEPLUG_CDI_KIND=kubeplug.test\n");
      expect(await exec("cat", `${MOUNT_PATH}/hello`)).toBe("from the host, through CDI\n");
      // Read-only, as the spec says.
      expect((await cri!.execSync(containerId, ["touch", `${MOUNT_PATH}/x`], 10)).exitCode).not.toBe(0);
    }

    it(`injects ${KIND}=test0 requested in the CRI CDIDevices field into a pod of the nvidia handler`, async () => {
      const { podId, containerId } = await podWith("cdi-field", { CDIDevices: [{ name: `${KIND}=test0` }] });
      expect((await cri!.podSandboxStatus(podId)).runtimeHandler).toBe("nvidia");
      await expectInjected(containerId);
    });

    it(`injects ${KIND}=test0 requested with a cdi.k8s.io/ annotation`, async () => {
      const { containerId } = await podWith("cdi-annotation", { annotations: { "cdi.k8s.io/kubeplug-test": `${KIND}=test0` } });
      await expectInjected(containerId);
    });

    it("gives a container that asks for no device none of it", async () => {
      const { containerId } = await podWith("cdi-none", {});
      expect((await cri!.execSync(containerId, ["test", "-e", DEVICE_PATH], 10)).exitCode).toBe(1);
      expect((await cri!.execSync(containerId, ["env"], 10)).stdout).not.toContain("KUBEPLUG_CDI");
    });

    // Why kubeplug writes enable_cdi: 1.7 leaves CDI off by default (config_unix.go @ v1.7.24), 2.x turns it on
    // (@ v2.0.0, v2.1.4). Proven here with a second daemon on the same config minus that one key.
    it(`without the rendered enable_cdi, containerd ${line} ${features.configVersion === 2 ? "ignores" : "still honours"} the CDI request (its default)`, async () => {
      const workDir = join(testDir, "control");
      mkdirSync(workDir);
      const control = await startPrivateContainerd({ configToml: withoutEnableCdi(rendered.configToml, features.criRuntimePlugin), binDir: containerdBinDir(line), workDir });
      const client = new CriClient(control.address);
      try {
        await importImages(control.address, { pause: [sandboxImageOf(rendered.configToml)!] }, control.ctr);
        const config = sandbox("cdi-default");
        const podId = await client.runPodSandbox(config, "nvidia");
        const containerId = await client.createContainer(podId, { metadata: { name: "gpu" }, image: { image: BUSYBOX_IMAGE }, command: ["sleep", "3600"], CDIDevices: [{ name: `${KIND}=test0` }] }, config);
        await client.startContainer(containerId);
        const seen = await client.execSync(containerId, ["test", "-c", DEVICE_PATH], 10);
        expect(seen.exitCode).toBe(line === "1.7" ? 1 : 0);
      } finally {
        client.close();
        await control.stop();
      }
    });

    it("refuses a device no spec in the dirs describes, with containerd's CDI error", async () => {
      const config = sandbox("cdi-unknown");
      const podId = await cri!.runPodSandbox(config, "nvidia");
      await expect(
        cri!.createContainer(podId, { metadata: { name: "gpu" }, image: { image: BUSYBOX_IMAGE }, command: ["sleep", "3600"], CDIDevices: [{ name: `${KIND}=gpu9` }] }, config),
      ).rejects.toThrow(/unresolvable CDI devices kubeplug\.test\/device=gpu9/);
    });
  });
});
