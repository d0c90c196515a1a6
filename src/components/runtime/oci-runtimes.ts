import { stringify } from "smol-toml";
import { CrioHandler } from "../../config/crio";
import { RuntimeHandler } from "../../config/runtime";
import { RenderedFile } from "../node/files";
import { ContainerdFeatures } from "../../catalog/containerd-features";
import { DEFAULT_KATA_HYPERVISOR, EngineHandler, engineBinary, gvisorUsesRuncShim } from "../../catalog/engines";
import { TomlTable } from "../../util/toml";

const RUNC_SHIM = "io.containerd.runc.v2";
const KATA_RUST = new Set(["dragonball", "qemu-runtime-rs"]);

/** Kata's shim and the shipped configuration for a hypervisor (kata-deploy's layout under /opt/kata). */
function kataPaths(handler: EngineHandler): { shim: string; config: string } {
  const hypervisor = handler.hypervisor ?? DEFAULT_KATA_HYPERVISOR;
  const rust = KATA_RUST.has(hypervisor);
  const defaults = rust ? "/opt/kata/share/defaults/kata-containers/runtime-rs" : "/opt/kata/share/defaults/kata-containers";
  return {
    shim: rust ? "/opt/kata/runtime-rs/bin/containerd-shim-kata-v2" : engineBinary(handler),
    config: `${defaults}/configuration-${hypervisor}.toml`,
  };
}

// containerd ------------------------------------------------------------------------------------

/** Path of the shim config a gVisor handler reads (`options.ConfigPath`); one per handler. */
export function gvisorShimConfigPath(handlerName: string): string {
  return `/etc/containerd/runsc-${handlerName}.toml`;
}

/** The `runtimes.<name>` table of a containerd CRI config (same shape in config versions 2, 3 and 4). */
export function containerdHandlerTable(name: string, handler: RuntimeHandler, systemdCgroup: boolean, features: ContainerdFeatures): TomlTable {
  const table: TomlTable = {};
  switch (handler.engine) {
    case "runc":
    case "crun":
    case "youki":
    // nvidia-container-runtime takes runc's command line: the runc shim runs it as the OCI runtime, as
    // `nvidia-ctk runtime configure` sets it up (options.BinaryName; pkg/config/engine/containerd/config.go @ d34b3046).
    case "nvidia":
      table.runtime_type = RUNC_SHIM;
      table.options = { ...stripUndefined(handler.options ?? {}), BinaryName: engineBinary(handler), SystemdCgroup: systemdCgroup };
      break;
    case "gvisor":
      Object.assign(
        table,
        gvisorUsesRuncShim(handler)
          ? { runtime_type: RUNC_SHIM, options: { BinaryName: engineBinary(handler), SystemdCgroup: systemdCgroup } }
          : { runtime_type: "io.containerd.runsc.v1", options: { TypeUrl: "io.containerd.runsc.v1.options", ConfigPath: gvisorShimConfigPath(name) } },
      );
      break;
    case "kata": {
      const kata = kataPaths(handler);
      Object.assign(table, {
        runtime_type: `io.containerd.kata-${handler.hypervisor}.v2`,
        runtime_path: kata.shim,
        privileged_without_host_devices: true,
        pod_annotations: ["io.katacontainers.*"],
        options: { ConfigPath: kata.config },
      });
      break;
    }
    case "custom":
      table.runtime_type = handler.runtimeType;
      if (handler.runtimePath) table.runtime_path = handler.runtimePath;
      if (handler.options) table.options = handler.options as TomlTable;
      break;
    default: {
      const never: never = handler;
      throw new Error(`unhandled runtime engine ${JSON.stringify(never)}`);
    }
  }
  if (handler.podAnnotations) table.pod_annotations = [...handler.podAnnotations];
  if (handler.containerAnnotations) table.container_annotations = [...handler.containerAnnotations];
  if (handler.privilegedWithoutHostDevices !== undefined) table.privileged_without_host_devices = handler.privilegedWithoutHostDevices;
  if (handler.snapshotter && features.perHandlerSnapshotter) table.snapshotter = handler.snapshotter;
  return table;
}

/** Files containerd's shims read at container start: the runsc shim config of each gVisor handler. */
export function containerdRuntimeFiles(runtimes: Readonly<Record<string, RuntimeHandler>>, systemdCgroup: boolean): RenderedFile[] {
  const files: RenderedFile[] = [];
  for (const name of Object.keys(runtimes).sort()) {
    const handler = runtimes[name]!;
    if (handler.engine !== "gvisor" || gvisorUsesRuncShim(handler)) continue;
    const runscConfig: TomlTable = { platform: handler.platform };
    if (systemdCgroup) runscConfig["systemd-cgroup"] = "true";
    files.push({ path: gvisorShimConfigPath(name), content: stringify({ binary_name: engineBinary(handler), runsc_config: runscConfig }), mode: 0o644 });
  }
  return files;
}

// CRI-O -----------------------------------------------------------------------------------------

/** conmon, from the CRI-O bundle or package; CRI-O needs it per oci handler (monitor_path). */
export const CRIO_CONMON = "/usr/libexec/crio/conmon";

/** The `[crio.runtime.runtimes.<name>]` table. CRI-O replaces a whole handler table per drop-in, so it is complete. */
export function crioHandlerTable(handler: CrioHandler): TomlTable {
  const table: TomlTable = {};
  switch (handler.engine) {
    case "runc":
    case "crun":
    case "youki":
      Object.assign(table, { runtime_path: engineBinary(handler), runtime_type: "oci", runtime_root: `/run/${handler.engine}`, monitor_path: CRIO_CONMON });
      break;
    case "nvidia":
      // nvidia-container-runtime edits the spec, then runs runc with the arguments CRI-O gave it; so the handler is runc's
      // table with the wrapper as runtime_path, as nvidia-ctk writes it (pkg/config/engine/crio/crio.go @ d34b3046).
      Object.assign(table, { runtime_path: engineBinary(handler), runtime_type: "oci", runtime_root: "/run/runc", monitor_path: CRIO_CONMON });
      break;
    case "gvisor":
      // Refused by the config checks: CRI-O runs gVisor only from 1.37, which has no release.
      throw new Error("gVisor is not supported on CRI-O before 1.37");
    case "kata": {
      const kata = kataPaths(handler);
      Object.assign(table, { runtime_path: kata.shim, runtime_type: "vm", runtime_root: "/run/vc", runtime_config_path: kata.config, privileged_without_host_devices: true });
      break;
    }
    case "custom":
      table.runtime_path = handler.runtimePath;
      table.runtime_type = handler.runtimeType;
      if (handler.runtimeRoot) table.runtime_root = handler.runtimeRoot;
      if (handler.runtimeConfigPath) table.runtime_config_path = handler.runtimeConfigPath;
      if (handler.runtimeType === "oci") table.monitor_path = CRIO_CONMON;
      break;
    default: {
      const never: never = handler;
      throw new Error(`unhandled runtime engine ${JSON.stringify(never)}`);
    }
  }
  if (handler.allowedAnnotations) table.allowed_annotations = [...handler.allowedAnnotations];
  if (handler.privilegedWithoutHostDevices !== undefined) table.privileged_without_host_devices = handler.privilegedWithoutHostDevices;
  return table;
}

function stripUndefined(record: Record<string, unknown>): TomlTable {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as TomlTable;
}
