/** Compares dotted versions numerically ("1.14.3" vs "1.8.1"), ignoring a suffix after "-", "~" or "+". */
export function versionAtLeast(version: string, min: string): boolean {
  const parts = (v: string) => v.split(/[-~+]/)[0]!.split(".").map(Number);
  const [a, b] = [parts(version), parts(min)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}
