// VMs created in the same program as their container runtime: each VM's address and host key are
// Outputs that flow into kubeplug's node connections, so the runtime steps wait for the VMs and
// reach them at whatever address the cloud gave them.
import * as pulumi from "@pulumi/pulumi";
import { ContainerdRuntime, NodeNetwork } from "kubeplug";

interface VmArgs {
  readonly address: pulumi.Input<string>;
  readonly hostKey: pulumi.Input<string>;
}

/**
 * STAND-IN for a cloud VM (aws.ec2.Instance, gcp.compute.Instance, ...): this example installs no
 * cloud provider, so the "VM" is a component whose outputs are the values it was given. In a real
 * program use the instance's `privateIp`, and a host key you generate (tls.PrivateKey) and hand to
 * the VM's cloud-init (`ssh_keys`), its `publicKeyOpenssh` trimmed of the comment.
 */
class StandInVm extends pulumi.ComponentResource {
  readonly address: pulumi.Output<string>;
  readonly hostKey: pulumi.Output<string>;

  constructor(name: string, args: VmArgs, opts?: pulumi.ComponentResourceOptions) {
    super("example:index:StandInVm", name, {}, opts);
    // Tied to this resource's URN, as a real instance's outputs are: whatever consumes them waits for the VM.
    this.address = pulumi.all([this.urn, args.address]).apply(([, address]) => address);
    this.hostKey = pulumi.all([this.urn, args.hostKey]).apply(([, key]) => key);
    this.registerOutputs({ address: this.address, hostKey: this.hostKey });
  }
}

const config = new pulumi.Config();
const vmHostKey = config.require("vmHostKey");
const vms = ["worker-1", "worker-2"].map((name, i) => ({ name, vm: new StandInVm(name, { address: `192.0.2.${41 + i}`, hostKey: vmHostKey }) }));

const nodes = vms.map(({ name, vm }) => ({ name, connection: { host: vm.address, hostKey: vm.hostKey, user: "admin" } }));
const runtime = new ContainerdRuntime("workers", { nodes, config: { version: "2.1.9" } });
new NodeNetwork("workers-network", {
  nodes: nodes.map((n, i) => ({ ...n, podCIDR: `10.244.${i + 1}.0/24` })),
  config: {
    podCIDR: "10.244.0.0/16",
    cni: {
      conflists: [{ name: "pods", plugins: [{ type: "bridge", bridge: "cni0", isGateway: true, ipMasq: true, ipam: { type: "host-local" } }, { type: "portmap", capabilities: { portMappings: true } }] }],
    },
  },
});

export const addresses = vms.map(({ vm }) => vm.address);
export const runtimeEndpoint = runtime.runtimeEndpoint;
