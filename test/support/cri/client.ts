/**
 * A small CRI (runtime.v1) client for real tests: the calls kubelet makes to run a pod, over a unix socket.
 * The API definition comes from Debian sid's golang-k8s-cri-api-dev, so no generated code lives in the repo.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { join } from "node:path";
import { extractDeb } from "../debs";

const CRI_API_PROTO = "usr/share/gocode/src/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto";
// Unix socket paths longer than sun_path (108 bytes with the NUL) fail with an opaque connect error.
const MAX_SOCKET_PATH = 107;
const DEFAULT_DEADLINE_MS = 60_000;

export type NamespaceMode = "POD" | "CONTAINER" | "NODE" | "TARGET";

export interface VersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export interface StatusResponse {
  status: { conditions: RuntimeCondition[] } | null;
  /** Runtime-specific JSON documents (with verbose), e.g. `config` holding the effective CRI config. */
  info: Record<string, string>;
  runtimeHandlers: { name: string }[];
}

export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: string;
}

export interface PodSandboxConfig {
  metadata: { name: string; uid: string; namespace: string; attempt?: number };
  hostname?: string;
  logDirectory?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    cgroupParent?: string;
    securityContext?: { namespaceOptions?: { network?: NamespaceMode; pid?: NamespaceMode; ipc?: NamespaceMode } };
  };
}

export interface PodSandboxStatus {
  id: string;
  state: "SANDBOX_READY" | "SANDBOX_NOTREADY";
  network: { ip: string; additionalIps: { ip: string }[] } | null;
  runtimeHandler: string;
}

export interface PodSandbox {
  id: string;
  metadata: { name: string; uid: string; namespace: string };
  state: PodSandboxStatus["state"];
  runtimeHandler: string;
}

export interface ContainerConfig {
  metadata: { name: string; attempt?: number };
  image: { image: string };
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: { key: string; value: string }[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  logPath?: string;
  /** CDI devices by fully qualified name (`vendor.com/class=name`): the CRI `CDI_devices` field (proto-loader camel-cases it). */
  CDIDevices?: { name: string }[];
}

export interface ContainerStatus {
  id: string;
  state: "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" | "CONTAINER_UNKNOWN";
  exitCode: number;
  reason: string;
  message: string;
  imageRef: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

type Callback = (err: grpc.ServiceError | null, res: unknown) => void;
type RawClient = grpc.Client & Record<string, (req: object, opts: grpc.CallOptions, cb: Callback) => void>;
type ServiceCtor = new (address: string, creds: grpc.ChannelCredentials) => RawClient;

let services: { runtime: ServiceCtor; image: ServiceCtor } | undefined;

function loadServices(): { runtime: ServiceCtor; image: ServiceCtor } {
  if (services) return services;
  const proto = join(extractDeb("sid", "golang-k8s-cri-api-dev"), CRI_API_PROTO);
  // longs as strings: int64 nanosecond timestamps do not fit in a double; enums as names so tests read like crictl.
  const definition = protoLoader.loadSync(proto, { longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    runtime: { v1: { RuntimeService: ServiceCtor; ImageService: ServiceCtor } };
  };
  services = { runtime: pkg.runtime.v1.RuntimeService, image: pkg.runtime.v1.ImageService };
  return services;
}

export class CriClient {
  private readonly runtime: RawClient;
  private readonly image: RawClient;

  /** `socketPath` is the containerd grpc address (a path, without `unix://`). */
  constructor(readonly socketPath: string, private readonly deadlineMs = DEFAULT_DEADLINE_MS) {
    if (socketPath.length > MAX_SOCKET_PATH) throw new Error(`CRI socket path is longer than ${MAX_SOCKET_PATH} bytes: ${socketPath}`);
    const { runtime, image } = loadServices();
    const target = `unix://${socketPath}`;
    this.runtime = new runtime(target, grpc.credentials.createInsecure());
    this.image = new image(target, grpc.credentials.createInsecure());
  }

  private call<T>(client: RawClient, method: string, request: object, deadlineMs = this.deadlineMs): Promise<T> {
    return new Promise((resolve, reject) => {
      client[method]!.call(client, request, { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err) reject(new Error(`CRI ${method} on ${this.socketPath}: ${err.details || err.message}`, { cause: err }));
        else resolve(res as T);
      });
    });
  }

  version(): Promise<VersionResponse> {
    return this.call(this.runtime, "Version", {});
  }

  status(verbose = false): Promise<StatusResponse> {
    return this.call(this.runtime, "Status", { verbose });
  }

  /** Pulls as kubelet does without an image pull secret (so containerd's own registry config decides); returns the image ref. */
  async pullImage(image: string, deadlineMs = this.deadlineMs): Promise<string> {
    return (await this.call<{ imageRef: string }>(this.image, "PullImage", { image: { image } }, deadlineMs)).imageRef;
  }

  async listImages(): Promise<Image[]> {
    return (await this.call<{ images: Image[] }>(this.image, "ListImages", {})).images;
  }

  /** Returns the sandbox id. An empty handler means containerd's default runtime. */
  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ""): Promise<string> {
    return (await this.call<{ podSandboxId: string }>(this.runtime, "RunPodSandbox", { config, runtimeHandler })).podSandboxId;
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.call(this.runtime, "StopPodSandbox", { podSandboxId });
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.call(this.runtime, "RemovePodSandbox", { podSandboxId });
  }

  async podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus> {
    return (await this.call<{ status: PodSandboxStatus }>(this.runtime, "PodSandboxStatus", { podSandboxId })).status;
  }

  async listPodSandbox(): Promise<PodSandbox[]> {
    return (await this.call<{ items: PodSandbox[] }>(this.runtime, "ListPodSandbox", {})).items;
  }

  /** Returns the container id. CRI wants the sandbox config again, as kubelet sends it. */
  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    // KeyValue.value is `bytes` in this API version; protobufjs would base64-decode a plain string.
    const envs = config.envs?.map(({ key, value }) => ({ key, value: Buffer.from(value) }));
    const request = { podSandboxId, config: { ...config, envs }, sandboxConfig };
    return (await this.call<{ containerId: string }>(this.runtime, "CreateContainer", request)).containerId;
  }

  async startContainer(containerId: string): Promise<void> {
    await this.call(this.runtime, "StartContainer", { containerId });
  }

  async containerStatus(containerId: string): Promise<ContainerStatus> {
    return (await this.call<{ status: ContainerStatus }>(this.runtime, "ContainerStatus", { containerId })).status;
  }

  /** Runs `cmd` in the container; `timeoutSeconds` bounds the command, and the call waits a little longer. */
  async execSync(containerId: string, cmd: string[], timeoutSeconds = 10): Promise<ExecResult> {
    const res = await this.call<{ stdout: Buffer; stderr: Buffer; exitCode: number }>(
      this.runtime, "ExecSync", { containerId, cmd, timeout: timeoutSeconds }, (timeoutSeconds + 10) * 1000);
    return { stdout: res.stdout.toString(), stderr: res.stderr.toString(), exitCode: res.exitCode };
  }

  /** `timeoutSeconds` is the grace period before SIGKILL; 0 kills at once. */
  async stopContainer(containerId: string, timeoutSeconds = 0): Promise<void> {
    await this.call(this.runtime, "StopContainer", { containerId, timeout: timeoutSeconds }, (timeoutSeconds * 1000) + this.deadlineMs);
  }

  async removeContainer(containerId: string): Promise<void> {
    await this.call(this.runtime, "RemoveContainer", { containerId });
  }

  close(): void {
    this.runtime.close();
    this.image.close();
  }
}
