import { CRIO_GVISOR_MIN, crioLine, SUPPORTED_CRIO_LINES } from "../catalog/crio-features";
import { CrioConfig, CrioRegistryConfig } from "./crio";
import { Locator } from "./findings";
import { checkCdi, checkDuplicateMirrors, checkEngineHandler, PoolContext, requireArtifact } from "./runtime-checks";

/** Cross-field checks of a CRI-O runtime section, after its schema parsed. */
export function checkCrio(config: CrioConfig, at: Locator, context: PoolContext): void {
  if (!crioLine(config.version)) {
    at.child("version").problem(`"${config.version}" is not supported: kubeplug renders configs for CRI-O ${SUPPORTED_CRIO_LINES.join(", ")}`);
    return;
  }
  if (config.cgroupManager && config.cgroupManager !== context.cgroupDriver) {
    at.child("cgroupManager").problem(
      `"${config.cgroupManager}" conflicts with kubeplug:cluster.kubelet.cgroupDriver "${context.cgroupDriver}": the runtime and the kubelet must use the same cgroup driver`,
    );
  }
  if (!(config.defaultRuntime in config.runtimes)) {
    at.child("defaultRuntime").problem(
      `"${config.defaultRuntime}" is not a handler under runtimes (defined: ${Object.keys(config.runtimes).join(", ") || "none"}); CRI-O refuses to start without its default handler`,
    );
  }
  if (config.logSizeMax !== undefined && config.logSizeMax >= 0 && config.logSizeMax < 8192) {
    at.child("logSizeMax").problem(`${config.logSizeMax} is below CRI-O's minimum of 8192 bytes; use -1 for no limit`);
  }
  if (config.install.from === "release") requireArtifact(at.child("version"), "cri-o", config.version, context);
  for (const [name, handler] of Object.entries(config.runtimes)) {
    const here = at.child("runtimes", name);
    if (handler.engine === "custom") continue;
    if (handler.engine === "gvisor") {
      here.child("engine").problem(
        `gVisor runs under CRI-O only from CRI-O ${CRIO_GVISOR_MIN} (as a vm handler), which has no release yet; this pool runs ${config.version}. Use a containerd pool for gVisor`,
      );
      continue;
    }
    checkEngineHandler(handler, here, context);
  }
  // Every supported line reads cdi_spec_dirs and the CRI CDIDevices field (CRIO_CDI_MIN).
  checkCdi(config, at, context, undefined);
  const onPath = Object.values(config.runtimes).some((h) => (h.engine === "runc" || h.engine === "crun") && (h.install.from === "package" || h.install.from === "release"));
  for (const [name, handler] of Object.entries(config.runtimes)) {
    if (handler.engine !== "nvidia" || onPath) continue;
    at.child("runtimes", name, "engine").warn(
      "nvidia-container-runtime runs the runc or crun it finds on PATH (the toolkit's nvidia-container-runtime.runtimes); this pool's come from the CRI-O bundle in /usr/libexec/crio, which is not on PATH: add a runc handler with install.from: package",
    );
  }
  for (const key of ["hosts", "overrides"] as const) checkCrioRegistries(config.registries[key], at.child("registries"), key);
}

function checkCrioRegistries(hosts: Readonly<Record<string, CrioRegistryConfig>>, at: Locator, key: string): void {
  checkDuplicateMirrors(hosts, at, key);
  for (const [host, registry] of Object.entries(hosts)) {
    const endpoints = [...registry.mirrors.map((m) => m.url), ...(registry.server ? [registry.server.url] : [])];
    if (registry.auth && endpoints.some((url) => url.startsWith("http://"))) {
      at.child(key, host, "auth").warn(`credentials for ${host} would travel unencrypted to a plain-http endpoint`);
    }
  }
}
