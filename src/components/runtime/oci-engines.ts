import { ArtifactName } from "../../catalog/artifacts";
import { RuntimeEngine, RuntimeHandler } from "../../config/runtime";

/** How each low-level runtime is packaged and where its binary lands. */
interface EngineFacts {
  /** Debian package and the binary it installs, where Debian ships one. */
  readonly package?: { readonly name: string; readonly binary: string };
  /** Upstream release artifacts and where kubeplug installs the main binary from them. */
  readonly release?: { readonly artifacts: readonly ArtifactName[]; readonly binary: string };
}

const ENGINES: Record<Exclude<RuntimeEngine, "custom">, EngineFacts> = {
  runc: {
    package: { name: "runc", binary: "/usr/sbin/runc" },
    release: { artifacts: ["runc"], binary: "/usr/local/sbin/runc" },
  },
  crun: {
    package: { name: "crun", binary: "/usr/bin/crun" },
    release: { artifacts: ["crun"], binary: "/usr/local/bin/crun" },
  },
  youki: { release: { artifacts: ["youki"], binary: "/usr/local/bin/youki" } },
  gvisor: {
    package: { name: "runsc", binary: "/usr/bin/runsc" },
    release: { artifacts: ["gvisor-runsc", "gvisor-containerd-shim"], binary: "/usr/local/bin/runsc" },
  },
  kata: { release: { artifacts: ["kata-containers"], binary: "/opt/kata/bin/containerd-shim-kata-v2" } },
};

export function engineFacts(engine: Exclude<RuntimeEngine, "custom">): EngineFacts {
  return ENGINES[engine];
}

type InstalledHandler = Exclude<RuntimeHandler, { engine: "custom" }>;

/** The path of the runtime binary a handler runs, given how it is installed. */
export function engineBinary(handler: InstalledHandler): string {
  const facts = ENGINES[handler.engine];
  const install = handler.install;
  switch (install.from) {
    case "preinstalled":
      return install.path;
    case "package":
      return facts.package!.binary;
    case "release":
      return facts.release!.binary;
    default: {
      const never: never = install;
      throw new Error(`unhandled install ${JSON.stringify(never)}`);
    }
  }
}

/** The Debian package that provides an engine, as the handler's install section names it. */
export function enginePackage(
  engine: Exclude<RuntimeEngine, "custom">,
  install: { readonly name?: string | undefined; readonly version?: string | undefined },
): { name: string; version?: string } {
  const facts = ENGINES[engine].package;
  const name = install.name ?? facts?.name;
  if (!name) throw new Error(`${engine} has no Debian package; the schema should not allow install.from: package`);
  return install.version ? { name, version: install.version } : { name };
}
