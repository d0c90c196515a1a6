import { ArtifactName } from "./artifacts";

/**
 * The low-level OCI runtimes kubeplug knows: how each is installed, where its binary lands, and how
 * containerd and CRI-O are told to run it. Both runtimes' handler types share this shape.
 */
export type Engine = "runc" | "crun" | "youki" | "gvisor" | "kata" | "nvidia";

export type InstallSource =
  | { readonly from: "package"; readonly name?: string | undefined; readonly version?: string | undefined; readonly repository?: AptRepository | undefined }
  | { readonly from: "release"; readonly version: string }
  | { readonly from: "preinstalled"; readonly path: string }
  /** Built into the CRI-O release bundle, installed with CRI-O itself. */
  | { readonly from: "bundle" };

/** A Debian package repository a handler's packages come from (the NVIDIA Container Toolkit's). */
export interface AptRepository {
  readonly url: string;
  /** `bookworm`, or a path ending in "/" for a flat repository (NVIDIA's is "/"). */
  readonly suite: string;
  /** Empty for a flat repository. */
  readonly components: readonly string[];
  /** The repository's ASCII-armored public key; apt checks every index against it alone (Signed-By). */
  readonly signingKey: string;
}

export const GVISOR_PLATFORMS = ["systrap", "ptrace", "kvm"] as const;
export const KATA_HYPERVISORS = ["qemu", "clh", "fc", "dragonball", "qemu-runtime-rs"] as const;
export type KataHypervisor = (typeof KATA_HYPERVISORS)[number];
/** What a Kata handler runs when it names no hypervisor (kata-deploy's default shim). */
export const DEFAULT_KATA_HYPERVISOR: KataHypervisor = "qemu";

export interface EngineHandler {
  readonly engine: Engine;
  readonly install: InstallSource;
  readonly platform?: (typeof GVISOR_PLATFORMS)[number];
  readonly hypervisor?: KataHypervisor;
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
  // nvidia-container-toolkit-base puts nvidia-container-runtime (a runc wrapper that edits the spec, then runs
  // runc) in /usr/bin: packaging/debian/nvidia-container-toolkit-base.install @ NVIDIA/nvidia-container-toolkit d34b3046.
  nvidia: { package: { name: "nvidia-container-toolkit", binary: "/usr/bin/nvidia-container-runtime" } },
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

/** The NVIDIA engine needs the GPU driver loaded on the node; kubeplug checks for it, it does not install it. */
export function needsNvidiaDriver(handler: { readonly engine: string }): boolean {
  return handler.engine === "nvidia";
}

/** Where the NVIDIA driver reports itself once its kernel module is loaded. */
export const NVIDIA_DRIVER_PROC = "/proc/driver/nvidia/version";

/** CDI spec directories containerd (1.7+) and CRI-O read by default: config_unix.go @ containerd v2.1.4, cri-o pkg/config @ v1.36.3. */
export const DEFAULT_CDI_SPEC_DIRS = ["/etc/cdi", "/var/run/cdi"] as const;

/** Kata always runs VMs; gVisor only on its kvm platform. Both then need /dev/kvm on the node. */
export function needsKvm(handler: EngineHandler): boolean {
  return handler.engine === "kata" || (handler.engine === "gvisor" && handler.platform === "kvm");
}

/** Debian's runsc package has no containerd-shim-runsc-v1, so the runc shim drives runsc directly. */
export function gvisorUsesRuncShim(handler: EngineHandler): boolean {
  return handler.install.from === "package";
}

/** kata-deploy's RuntimeClass overheads per hypervisor (helm-chart templates/runtimeclasses.yaml @ 4.1.0). */
export const KATA_OVERHEAD: Readonly<Record<string, { readonly cpu: string; readonly memory: string }>> = {
  qemu: { cpu: "250m", memory: "320Mi" },
  "qemu-runtime-rs": { cpu: "250m", memory: "320Mi" },
  clh: { cpu: "250m", memory: "130Mi" },
  fc: { cpu: "250m", memory: "130Mi" },
  dragonball: { cpu: "250m", memory: "130Mi" },
};
