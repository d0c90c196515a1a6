import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { check } from "./exec";
import { BRIDGE, HOST_ADDRESS, PREFIX_LENGTH } from "./settings";

/**
 * The bed's link: a host bridge that every node's veth joins. The host does not forward between
 * links (ip_forward stays as it is), so nodes reach each other and the host's address, nothing else.
 */
export function bridgeExists(): boolean {
  return existsSync(`/sys/class/net/${BRIDGE}`);
}

export function createBridge(): void {
  // `ip link add` fails if the bridge exists, which is what keeps two beds from sharing it.
  ip(["link", "add", "name", BRIDGE, "type", "bridge"]);
  try {
    ip(["addr", "add", `${HOST_ADDRESS}/${PREFIX_LENGTH}`, "dev", BRIDGE]);
    ip(["link", "set", BRIDGE, "up"]);
  } catch (error) {
    // The caller records the bridge only once this returns, so undo our half here.
    deleteBridge();
    throw error;
  }
}

export function deleteBridge(): void {
  if (bridgeExists()) ip(["link", "del", BRIDGE]);
}

/** Addresses a node's `host0` from the host side, inside the network namespace of its init. */
export async function addressNode(initPid: number, address: string): Promise<void> {
  const commands = [
    `addr add ${address}/${PREFIX_LENGTH} dev host0`,
    "link set host0 up",
    `route add default via ${HOST_ADDRESS}`,
  ];
  await check("nsenter", ["-t", String(initPid), "-n", "ip", "-batch", "-"], { input: `${commands.join("\n")}\n` });
}

function ip(args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}
