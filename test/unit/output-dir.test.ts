import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { diffOutput, writeOutput } from "../../src/plan/output-dir";
import { OutputFile } from "../../src/plan/render-tree";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function outDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kubeplug-output-"));
  dirs.push(dir);
  return dir;
}

const render = (files: Record<string, OutputFile>) => Object.entries(files);
const STATE = ".kubeplug-render.json";

describe("writeOutput and diffOutput", () => {
  it("take the files as a stream, once each, and write them", () => {
    const dir = outDir();
    function* files(): Generator<[string, OutputFile]> {
      yield ["a.txt", { content: "a\n" }];
      yield ["nodes/n1/steps/01-x.sh", { content: "#!/bin/sh\n", executable: true, fingerprint: "f1" }];
    }
    const diff = writeOutput(dir, files());
    expect([...diff.changes]).toEqual([["a.txt", "added"], ["nodes/n1/steps/01-x.sh", "added"]]);
    expect(readFileSync(join(dir, "nodes/n1/steps/01-x.sh"), "utf8")).toBe("#!/bin/sh\n");
  });

  it("a script with the fingerprint of the last render is unchanged; another fingerprint and content is changed", () => {
    const dir = outDir();
    writeOutput(dir, render({ "s.sh": { content: "one\n", fingerprint: "f1" } }));
    expect(diffOutput(dir, render({ "s.sh": { content: "one\n", fingerprint: "f1" } })).changes.get("s.sh")).toBe("unchanged");
    expect(diffOutput(dir, render({ "s.sh": { content: "two\n", fingerprint: "f2" } })).changes.get("s.sh")).toBe("changed");
  });

  it("a state written before fingerprints compares by content hash", () => {
    const dir = outDir();
    writeOutput(dir, render({ "s.sh": { content: "one\n", fingerprint: "f1" } }));
    const state = JSON.parse(readFileSync(join(dir, STATE), "utf8")) as { format: 1; files: Record<string, string> };
    writeFileSync(join(dir, STATE), JSON.stringify({ format: state.format, files: state.files }));
    expect(diffOutput(dir, render({ "s.sh": { content: "one\n", fingerprint: "f1" } })).changes.get("s.sh")).toBe("unchanged");
    expect(diffOutput(dir, render({ "s.sh": { content: "two\n", fingerprint: "f1" } })).changes.get("s.sh")).toBe("changed");
  });

  it("files of the last render not in this one are removed", () => {
    const dir = outDir();
    writeOutput(dir, render({ "a.txt": { content: "a\n" }, "nodes/n1/files/etc/x": { content: "x\n" } }));
    const diff = writeOutput(dir, render({ "a.txt": { content: "a\n" } }));
    expect([...diff.changes]).toEqual([["a.txt", "unchanged"], ["nodes/n1/files/etc/x", "removed"]]);
  });
});
