/** The mock host key every generated test stack pins (test/fixtures/keys). */
export const MOCK_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1vY2staG9zdC1rZXktZ29sZGVuLi4uLi4uLi4uLi4u";

export interface OnePoolStack {
  readonly name: string;
  /** The pool's `runtime`, as YAML lines (unindented). */
  readonly runtime: string;
  readonly pool?: string;
  readonly node?: string;
  /** The kubelet's cgroup driver: cgroupfs for tests that start a private containerd here, where PID 1 is not systemd. */
  readonly cgroupDriver?: "systemd" | "cgroupfs";
}

/** A stack file with one pool of one node, as a user writes it. */
export function onePoolStack(s: OnePoolStack): string {
  const pool = s.pool ?? "p";
  return `config:
  kubeplug:cluster:
    name: ${s.name}
    ssh: { privateKeyPath: /dev/null, hostKey: ${MOCK_HOST_KEY} }
    kubelet: { cgroupDriver: ${s.cgroupDriver ?? "systemd"} }
    pools:
      - name: ${pool}
        runtime:
${s.runtime.trimEnd().replace(/^/gm, "          ")}
    nodes:
      - { name: ${s.node ?? "n1"}, pool: ${pool}, address: 192.0.2.1 }
`;
}
