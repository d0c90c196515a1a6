/**
 * OpenSSH public host keys as @pulumi/command takes them (`hostKey: "ssh-ed25519 AAAA..."`, parsed by
 * golang.org/x/crypto/ssh ParseAuthorizedKey when a step connects): checked here, so a key that
 * would not parse is refused when the stack is validated rather than when a step dials.
 */

/** Host key types kubeplug accepts, in the order it prefers them when a known_hosts file lists several. */
export const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"] as const;
export type HostKeyType = (typeof HOST_KEY_TYPES)[number];

export const isHostKeyType = (type: string): type is HostKeyType => (HOST_KEY_TYPES as readonly string[]).includes(type);

/** ECDSA point sizes (uncompressed: 0x04 || X || Y) per curve. */
const ECDSA_POINT = { nistp256: 65, nistp384: 97, nistp521: 133 } as const;

/**
 * What is wrong with the key data of `type base64`, or undefined when it is a well-formed key of
 * that type (SSH wire format, RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4).
 */
export function hostKeyDataProblem(type: HostKeyType, base64: string): string | undefined {
  const data = Buffer.from(base64, "base64");
  if (data.toString("base64") !== base64) return "its base64 is not well-formed";
  let offset = 0;
  const field = (): Buffer | undefined => {
    if (offset + 4 > data.length) return undefined;
    const length = data.readUInt32BE(offset);
    if (offset + 4 + length > data.length) return undefined;
    const value = data.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    return value;
  };
  const declared = field();
  if (!declared) return "its data is cut short";
  if (declared.toString("latin1") !== type) return `its data is a ${JSON.stringify(declared.toString("latin1"))} key`;
  if (type === "ssh-ed25519") {
    const key = field();
    if (!key) return "its data is cut short";
    if (key.length !== 32) return `its key is ${key.length} bytes, not 32`;
  } else if (type === "ssh-rsa") {
    const exponent = field();
    const modulus = field();
    if (!exponent || !modulus || exponent.length === 0 || modulus.length === 0) return "its data is cut short";
  } else {
    const curve = type.slice("ecdsa-sha2-".length) as keyof typeof ECDSA_POINT;
    const named = field();
    const point = field();
    if (!named || !point) return "its data is cut short";
    if (named.toString("latin1") !== curve) return `its data names curve ${JSON.stringify(named.toString("latin1"))}`;
    if (point.length !== ECDSA_POINT[curve] || point[0] !== 4) return `its point is not an uncompressed ${curve} point`;
  }
  if (offset !== data.length) return `its data has ${data.length - offset} extra bytes`;
  return undefined;
}
