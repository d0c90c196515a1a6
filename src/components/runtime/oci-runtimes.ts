import { stringify } from "smol-toml";
import { ArtifactName } from "../../catalog/artifacts";
import { CrioHandler } from "../../config/crio";
import { RuntimeHandler } from "../../config/runtime";
import { RenderedFile } from "../node/files";
import { ContainerdFeatures } from "./containerd-features";

/**
 * The low-level OCI runtimes kubeplug knows: how each is installed, where its binary lands, and how
 * containerd and CRI-O are told to run it. Both runtimes' handler types share this shape.
 */
export type Engine = "runc" | "crun" | "youki" | "gvisor" | "kata";

export type InstallSource =
  | { readonly from: "package"; readonly name?: string | undefined; readonly version?: string | undefined }
  | { readonly from: "release"; readonly version: string }
  | { readonly from: "preinstalled"; readonly path: string }
  /** Built into the CRI-O release bundle, installed with CRI-O itself. */
  | { readonly from: "bundle" };

export interface EngineHandler {
  readonly engine: Engine;
  readonly install: InstallSource;
  readonly platform?: "systrap" | "ptrace" | "kvm";
  readonly hypervisor?: "qemu" | "clh" | "fc" | "dragonball" | "qemu-runtime-rs";
}

interface EngineFacts {
  /** Debian package and the binary it installs, where Debian ships one. */
  readonly package?: { readonly name: string; readonly binary: string };
  /** Upstream release artifacts and where kubeplug installs the main binary from them. */
  readonly release?: { readonly artifacts: readonly ArtifactName[]; readonly binary: string };
  /** Where the CRI-O bundle puts its own build. */
  readonly bundle?: string;
}

const ENGINES: Record<Engine, EngineFacts> = {
  runc: {
    package: { name: "runc", binary: "/usr/sbin/runc" },
    release: { artifacts: ["runc"], binary: "/usr/local/sbin/runc" },
    bundle: "/usr/libexec/crio/runc",
  },
  crun: {
    package: { name: "crun", binary: "/usr/bin/crun" },
    release: { artifacts: ["crun"], binary: "/usr/local/bin/crun" },
    bundle: "/usr/libexec/crio/crun",
  },
  youki: { release: { artifacts: ["youki"], binary: "/usr/local/bin/youki" } },
  gvisor: {
    package: { name: "runsc", binary: "/usr/bin/runsc" },
    release: { artifacts: ["gvisor-runsc", "gvisor-containerd-shim"], binary: "/usr/local/bin/runsc" },
  },
  kata: { release: { artifacts: ["kata-containers"], binary: "/opt/kata/bin/containerd-shim-kata-v2" } },
};

export const ENGINE_NAMES = Object.keys(ENGINES) as Engine[];

export function engineFacts(engine: Engine): EngineFacts {
  return ENGINES[engine];
}

export function isEngineHandler<H extends { engine: string }>(handler: H): handler is H & EngineHandler {
  return handler.engine in ENGINES;
}

/** The path of the runtime binary a handler runs, given how it is installed. */
export function engineBinary(handler: EngineHandler): string {
  const facts = ENGINES[handler.engine];
  const install = handler.install;
  switch (install.from) {
    case "preinstalled":
      return install.path;
    case "package":
      return facts.package!.binary;
    case "release":
      return facts.release!.binary;
    case "bundle":
      return facts.bundle!;
    default: {
      const never: never = install;
      throw new Error(`unhandled install ${JSON.stringify(never)}`);
    }
  }
}

/** The Debian package that provides an engine, as the handler's install section names it. */
export function enginePackage(engine: Engine, install: { readonly name?: string | undefined; readonly version?: string | undefined }): { name: string; version?: string } {
  const name = install.name ?? ENGINES[engine].package?.name;
  if (!name) throw new Error(`${engine} has no Debian package; the schema should not allow install.from: package`);
  return install.version ? { name, version: install.version } : { name };
}

/** Kata always runs VMs; gVisor only on its kvm platform. Both then need /dev/kvm on the node. */
export function needsKvm(handler: EngineHandler): boolean {
  return handler.engine === "kata" || (handler.engine === "gvisor" && handler.platform === "kvm");
}

type TomlTable = { [key: string]: TomlValue };
type TomlValue = string | number | boolean | TomlValue[] | TomlTable;

const RUNC_SHIM = "io.containerd.runc.v2";
const KATA_RUST = new Set(["dragonball", "qemu-runtime-rs"]);

/** Kata's shim and the shipped configuration for a hypervisor (kata-deploy's layout under /opt/kata). */
function kataPaths(handler: EngineHandler): { shim: string; config: string } {
  const hypervisor = handler.hypervisor ?? "qemu";
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

/** Debian's runsc package has no containerd-shim-runsc-v1, so the runc shim drives runsc directly. */
export function gvisorUsesRuncShim(handler: EngineHandler): boolean {
  return handler.install.from === "package";
}

/** The `runtimes.<name>` table of a containerd CRI config (same shape in config versions 2 and 3). */
export function containerdHandlerTable(name: string, handler: RuntimeHandler, systemdCgroup: boolean, features: ContainerdFeatures): TomlTable {
  const table: TomlTable = {};
  switch (handler.engine) {
    case "runc":
    case "crun":
    case "youki":
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
