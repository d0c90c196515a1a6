/** What a CLI's main printed: its exit code and everything it wrote to stdout and stderr, captured in-process. */
export function captureOutput(run: () => number): { code: number; stdout: string; stderr: string } {
  const out = { stdout: "", stderr: "" };
  const saved = { stdout: process.stdout.write.bind(process.stdout), stderr: process.stderr.write.bind(process.stderr) };
  const capture = (stream: "stdout" | "stderr") =>
    ((chunk: string | Uint8Array) => {
      out[stream] += chunk.toString();
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture("stdout");
  process.stderr.write = capture("stderr");
  try {
    return { code: run(), ...out };
  } finally {
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
  }
}
