/**
 * What kubeplug takes from the upstream CRI-O bundle (`cri-o.<arch>.v<version>.tar.gz`) and where it
 * goes: the layout the bundle's own `install` script uses (cri-o/packaging b111fe95, see
 * test/fixtures/crio/bundle-layout.json), minus what kubeplug owns elsewhere (CNI plugins,
 * crictl.yaml, crio.conf.d, registries.conf.d).
 */
export interface BundleFile {
  /** Path inside the tarball. */
  readonly member: string;
  readonly dest: (prefix: string) => string;
  readonly mode: string;
}

export const BUNDLE_FILES: readonly BundleFile[] = [
  { member: "cri-o/bin/crio", dest: (p) => `${p}/bin/crio`, mode: "0755" },
  { member: "cri-o/bin/pinns", dest: (p) => `${p}/bin/pinns`, mode: "0755" },
  { member: "cri-o/bin/crictl", dest: (p) => `${p}/bin/crictl`, mode: "0755" },
  { member: "cri-o/bin/conmon", dest: () => "/usr/libexec/crio/conmon", mode: "0755" },
  { member: "cri-o/bin/conmonrs", dest: () => "/usr/libexec/crio/conmonrs", mode: "0755" },
  { member: "cri-o/bin/crun", dest: () => "/usr/libexec/crio/crun", mode: "0755" },
  { member: "cri-o/bin/runc", dest: () => "/usr/libexec/crio/runc", mode: "0755" },
];

export const BUNDLE_POLICY = "cri-o/contrib/policy.json";

/** The unit kubeplug installs for a bundle install: upstream's crio.service with the prefix filled in. */
export function crioUnit(prefix: string): string {
  return `# Managed by kubeplug: CRI-O from the upstream bundle (unit as shipped in the bundle, ExecStart under ${prefix}).
[Unit]
Description=Container Runtime Interface for OCI (CRI-O)
Documentation=https://github.com/cri-o/cri-o
Wants=network-online.target
Before=kubelet.service
After=network-online.target

[Service]
Type=notify
EnvironmentFile=-/etc/sysconfig/crio
Environment=GOTRACEBACK=crash
ExecStart=${prefix}/bin/crio \\
          $CRIO_CONFIG_OPTIONS \\
          $CRIO_RUNTIME_OPTIONS \\
          $CRIO_STORAGE_OPTIONS \\
          $CRIO_NETWORK_OPTIONS \\
          $CRIO_METRICS_OPTIONS
ExecReload=/bin/kill -s HUP $MAINPID
TasksMax=infinity
LimitNOFILE=1048576
LimitNPROC=1048576
LimitCORE=infinity
OOMScoreAdjust=-999
TimeoutStartSec=0
Restart=on-failure
RestartSec=10

[Install]
WantedBy=multi-user.target
Alias=cri-o.service
`;
}
