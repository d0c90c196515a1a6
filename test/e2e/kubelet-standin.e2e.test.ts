import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestbed, Testbed, TestbedNode, testbedNodes, testbedUnavailableReason } from "./testbed";
import { onNode, waitForFreeBridge } from "./harness/scenarios";
import { installCriDockerdStandin, installKubeletStandin, KubeletEvent, kubeletEvents, KubeletStandinFiles, kubeletStatus } from "./standins/kubelet";

// The STAND-IN kubelet (standins/kubelet/kubelet) under kubeadm's unit and drop-in on a booted
// Debian node, against REAL containerd from the bed's mirror (bookworm 1.6.20, then sid 2.1.9):
// which of the kubelet's places wins for the CRI endpoint, which flags each version refuses, what
// it does without a socket, and the STAND-IN cri-dockerd's socket.
const skip = testbedUnavailableReason();
const NODES = testbedNodes(1);
const CONTAINERD = "unix:///run/containerd/containerd.sock";
/** A unix socket per place, held by a socket unit (pid 1 listens; a connection starts a `sleep`). */
const sock = (name: string) => `unix:///run/standin/${name}.sock`;
const PLACES = ["extra", "kubeadm", "dropin", "config"] as const;
const flag = (name: string) => `--container-runtime-endpoint=${sock(name)}`;
const configWith = (key: string, value: string) => `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n${key}: "${value}"\n`;

describe.skipIf(skip)(`STAND-IN kubelet on a real test node${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed | undefined;
  let node: TestbedNode;

  beforeAll(async () => {
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES });
    node = bed.nodes[0]!;
    await onNode(bed, node.name, "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends 'containerd=1.6.20*' >/dev/null && systemctl is-active containerd");
    await onNode(
      bed,
      node.name,
      [
        "mkdir -p /etc/systemd/system",
        `printf '[Socket]\\nListenStream=/run/standin/%%i.sock\\n' >/etc/systemd/system/standin-sock@.socket`,
        `printf '[Service]\\nExecStart=/bin/sleep infinity\\n' >/etc/systemd/system/standin-sock@.service`,
        "systemctl daemon-reload",
        `systemctl start ${PLACES.map((p) => `standin-sock@${p}.socket`).join(" ")} standin-sock@image.socket`,
        "test -S /run/standin/extra.sock",
      ].join(" && "),
    );
  }, 900_000);

  afterAll(() => bed?.stop(), 120_000);

  const on = (script: string) => onNode(bed!, node.name, script);

  /** Waits for the next event of `kind` after the first `seen` events; returns it. */
  async function nextEvent(seen: number, kind: KubeletEvent["event"], timeoutMs = 20_000): Promise<KubeletEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = kubeletEvents(node).slice(seen).find((e) => e.event === kind);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${kind} event within ${timeoutMs} ms; events since: ${JSON.stringify(kubeletEvents(node).slice(seen).map((e) => `${e.event} ${e.detail}`))}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Installs exactly `files`, (re)starts the kubelet and returns the status of the start it logs. */
  async function startWith(files: KubeletStandinFiles) {
    // Stopped first, so a start of the restart loop a previous case left cannot pass for this one.
    await on("systemctl stop kubelet");
    const seen = kubeletEvents(node).length;
    await installKubeletStandin(bed!, node, files, { start: true });
    await nextEvent(seen, "start");
    const status = (await kubeletStatus(node))!;
    expect(status.running).toBe(true);
    expect(String(status.pid)).toBe(await on("systemctl show -p MainPID --value kubelet"));
    return status;
  }

  async function refusedWith(files: KubeletStandinFiles): Promise<{ detail: string; journal: string }> {
    await on("systemctl stop kubelet");
    const seen = kubeletEvents(node).length;
    const since = await on("date +'%Y-%m-%d %H:%M:%S'");
    await installKubeletStandin(bed!, node, files, { start: true });
    const refused = await nextEvent(seen, "refused");
    // Restart=always, RestartSec=1: a second refusal proves systemd restarts it.
    await nextEvent(seen + 1, "refused");
    expect(kubeletEvents(node).slice(seen).filter((e) => e.event === "start")).toEqual([]);
    const journal = await on(`journalctl -u kubelet --since '${since}' --no-pager -o cat`);
    return { detail: refused.detail, journal };
  }

  it("answers --version from /etc/kubelet-standin/version, 1.35.0 by default", async () => {
    await installKubeletStandin(bed!, node, {});
    expect(await on("kubelet --version")).toBe("Kubernetes v1.35.0");
    await installKubeletStandin(bed!, node, { version: "1.34.2" });
    expect(await on("kubelet --version")).toBe("Kubernetes v1.34.2");
    expect(await on("systemctl cat kubelet | grep -E '^(ExecStart|EnvironmentFile|Environment|Restart|RestartSec)='")).toBe(
      [
        "ExecStart=/usr/bin/kubelet",
        "Restart=always",
        "RestartSec=1",
        'Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"',
        'Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"',
        "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env",
        "EnvironmentFile=-/etc/default/kubelet",
        "ExecStart=",
        "ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS",
      ].join("\n"),
    );
  });

  it("with no endpoint set anywhere uses containerd's socket and reports bookworm's containerd as the kubelet would (containerd://1.6.20), then sid's (containerd://2.1.9+unknown)", async () => {
    console.log(`containerd --version (bookworm): ${JSON.stringify(await on("containerd --version"))}`);
    const status = await startWith({});
    expect(status).toMatchObject({ endpoint: CONTAINERD, imageEndpoint: CONTAINERD, cgroupDriver: "systemd", containerRuntimeVersion: "containerd://1.6.20", kubeletVersion: "v1.35.0" });
    expect(String(status.pid)).toBe(await on("systemctl show -p MainPID --value kubelet"));
    expect(status.args).toBe("--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml");

    await on("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends containerd >/dev/null && systemctl is-active containerd");
    console.log(`containerd --version (sid): ${JSON.stringify(await on("containerd --version"))}`);
    expect((await startWith({})).containerRuntimeVersion).toBe("containerd://2.1.9+unknown");
    const last = kubeletEvents(node).at(-1)!;
    expect(last.event).toBe("start");
    expect(last.detail).toBe(`endpoint=${CONTAINERD} runtime=containerd://2.1.9+unknown cgroupDriver=systemd args=${status.args}`);
  });

  it("takes the endpoint from whichever single place sets it: KUBELET_EXTRA_ARGS, kubeadm-flags.env, a config-dir drop-in, config.yaml", async () => {
    const only: Record<(typeof PLACES)[number], KubeletStandinFiles> = {
      extra: { extraArgs: flag("extra") },
      kubeadm: { kubeadmFlags: flag("kubeadm") },
      dropin: { configDir: { "50-endpoint.conf": configWith("containerRuntimeEndpoint", sock("dropin")) } },
      config: { configYaml: configWith("containerRuntimeEndpoint", sock("config")) },
    };
    for (const place of PLACES) {
      const status = await startWith(only[place]);
      expect({ place, endpoint: status.endpoint, imageEndpoint: status.imageEndpoint, runtime: status.containerRuntimeVersion }).toEqual({
        place,
        endpoint: sock(place),
        imageEndpoint: sock(place),
        runtime: `${place}://Unknown`,
      });
    }
  });

  it("with every place set, the highest wins: extra args > kubeadm flags > config-dir (later file wins, *.conf only) > config.yaml > default", async () => {
    const all: KubeletStandinFiles = {
      extraArgs: flag("extra"),
      kubeadmFlags: `--container-runtime-endpoint ${sock("config")} ${flag("kubeadm")}`,
      configDir: {
        "10-a.conf": configWith("containerRuntimeEndpoint", sock("config")),
        "20-b.conf": `containerRuntimeEndpoint: '${sock("dropin")}' # the later drop-in\n`,
        "99-ignored.yaml": configWith("containerRuntimeEndpoint", sock("extra")),
      },
      configYaml: configWith("containerRuntimeEndpoint", sock("config")),
    };
    expect((await startWith(all)).endpoint).toBe(sock("extra"));
    // The flag in kubeadm-flags.env given twice (the `--flag value` form first): the last wins.
    expect((await startWith({ ...all, extraArgs: undefined })).endpoint).toBe(sock("kubeadm"));
    expect((await startWith({ ...all, extraArgs: undefined, kubeadmFlags: undefined })).endpoint).toBe(sock("dropin"));
    expect((await startWith({ configYaml: all.configYaml })).endpoint).toBe(sock("config"));
    expect((await startWith({})).endpoint).toBe(CONTAINERD);
  });

  it("imageServiceEndpoint follows the runtime endpoint unless set; cgroupDriver: the flag over the config, cgroupfs when neither sets it", async () => {
    const status = await startWith({ configYaml: configWith("imageServiceEndpoint", sock("image")), kubeadmFlags: "--cgroup-driver=cgroupfs" });
    expect(status).toMatchObject({ endpoint: CONTAINERD, imageEndpoint: sock("image"), cgroupDriver: "cgroupfs" });
    expect((await startWith({ configYaml: "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" })).cgroupDriver).toBe("cgroupfs");
  });

  it("refuses flags its version removed, with the kubelet's message, and systemd keeps restarting it; older versions take them", async () => {
    const cases: { version: string; flags: string; refused: boolean }[] = [
      { version: "1.35.0", flags: "--pod-infra-container-image=registry.k8s.io/pause:3.10", refused: true },
      { version: "1.34.2", flags: "--pod-infra-container-image=registry.k8s.io/pause:3.10", refused: false },
      { version: "1.27.0", flags: "--container-runtime=remote", refused: true },
      { version: "1.26.15", flags: "--container-runtime remote", refused: false },
      { version: "1.24.0", flags: "--network-plugin=cni", refused: true },
      { version: "1.23.17", flags: "--network-plugin=cni --cni-bin-dir=/opt/cni/bin", refused: false },
    ];
    for (const { version, flags, refused } of cases) {
      const files = { version, kubeadmFlags: `--container-runtime-endpoint=${CONTAINERD} ${flags}` };
      if (!refused) {
        expect((await startWith(files)).kubeletVersion).toBe(`v${version}`);
        continue;
      }
      const name = flags.split(/[= ]/)[0]!;
      const result = await refusedWith(files);
      expect(result.detail).toBe(`unknown flag: ${name}`);
      expect(result.journal).toContain(`"command failed" err="failed to parse kubelet flag: unknown flag: ${name}"`);
      expect(result.journal).toMatch(/kubelet\.service: Scheduled restart job, restart counter is at \d+\./);
    }
  });

  it("exits 1 with the kubelet's validate message when the endpoint has no socket, or its socket refuses connections; systemd restarts it", async () => {
    const missing = "unix:///run/no-such-runtime/runtime.sock";
    const result = await refusedWith({ kubeadmFlags: `--container-runtime-endpoint=${missing}` });
    expect(result.detail).toBe(`validate CRI v1 runtime API for endpoint "${missing}": rpc error: code = Unavailable`);
    expect(result.journal).toContain(`validate CRI v1 runtime API for endpoint \\"${missing}\\": rpc error: code = Unavailable desc = connection error`);
    expect(result.journal).toMatch(/kubelet.service: Main process exited, code=exited, status=1\/FAILURE/);
    expect(result.journal).toMatch(/kubelet\.service: Scheduled restart job, restart counter is at \d+\./);

    // A socket file nobody listens on (a runtime that died without removing it): a socket unit,
    // stopped, leaves its file (RemoveOnStop=no); containerd itself removes its socket when stopped.
    await on("systemctl start standin-sock@stale.socket && systemctl stop standin-sock@stale.socket && test -S /run/standin/stale.sock");
    const refused = await refusedWith({ kubeadmFlags: `--container-runtime-endpoint=${sock("stale")}` });
    expect(refused.detail).toBe(`validate CRI v1 runtime API for endpoint "${sock("stale")}": rpc error: code = Unavailable`);
    expect(refused.journal).toContain("dial unix /run/standin/stale.sock: connect: connection refused");
    await on("systemctl stop containerd");
    console.log(`containerd's socket after systemctl stop containerd: ${await on("test -S /run/containerd/containerd.sock && echo left || echo removed")}`);
    expect((await refusedWith({})).detail).toBe(`validate CRI v1 runtime API for endpoint "${CONTAINERD}": rpc error: code = Unavailable`);
    await on("systemctl start containerd");
    expect((await startWith({})).endpoint).toBe(CONTAINERD);
  });

  it("systemctl stop kubelet logs stop and leaves the status with running:false", async () => {
    const before = (await startWith({}))!;
    const seen = kubeletEvents(node).length;
    await on("systemctl stop kubelet");
    await nextEvent(seen, "stop");
    expect(await kubeletStatus(node)).toEqual({ ...before, running: false });
    expect(await on("systemctl is-active kubelet || true")).toBe("inactive");
  });

  it("installCriDockerdStandin makes /run/cri-dockerd.sock exist (socket unit active); a kubelet pointed there reports docker://Unknown (no dockerd)", async () => {
    await installCriDockerdStandin(bed!, node);
    expect(await on("cri-dockerd --version")).toBe("cri-dockerd 0.3.15 (STAND-IN)");
    expect(await on("systemctl is-active cri-docker.socket")).toBe("active");
    expect(await on("stat -c '%F %a %U %G' /run/cri-dockerd.sock")).toBe("socket 660 root docker");
    const status = await startWith({ kubeadmFlags: "--container-runtime-endpoint=unix:///var/run/cri-dockerd.sock" });
    expect(status.containerRuntimeVersion).toBe("docker://Unknown");
    // The kubelet's connection made systemd try cri-docker.service, which needs a docker.service the node lacks.
    console.log(`cri-docker.service after the kubelet's connection: ${await on("systemctl is-active cri-docker.service || true")}; ${await on("systemctl show -p Result,ActiveState --value cri-docker.service | tr '\\n' ' '")}`);
  });
});
