/**
 * A static file server on 127.0.0.1 for real tests that exercise kubeplug's "download base URL" path: a
 * separate Node process (so a step script run with spawnSync can still download from it), found and ended by
 * its PID. Every request is appended to a log file before it is answered, so `requests()` is exact right after
 * the client returns.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const SERVER = `
const http = require("node:http"), fs = require("node:fs"), path = require("node:path");
const root = path.resolve(process.argv[1]), log = process.argv[2];
http.createServer((req, res) => {
  const pathname = new URL(req.url, "http://x").pathname;
  const file = path.join(root, path.normalize(decodeURIComponent(pathname)));
  const ok = file.startsWith(root + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile();
  fs.appendFileSync(log, JSON.stringify({ method: req.method, path: pathname, status: ok ? 200 : 404 }) + "\\n");
  if (!ok) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { "content-length": fs.statSync(file).size, "content-type": "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
}).listen(0, "127.0.0.1", function () { process.stdout.write("LISTENING " + this.address().port + "\\n"); });
`;

export interface FileRequest {
  method: string;
  path: string;
  status: number;
}

export interface FileServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  pid: number;
  /** Every request so far, in order. */
  requests(): FileRequest[];
  /** Ends the server process by its PID. Idempotent. */
  stop(): Promise<void>;
}

/** Serves the files under `root`; `logPath` (outside `root`, owned by the caller) receives the request log. */
export async function startFileServer(root: string, logPath = join(root, "..", "file-server.log")): Promise<FileServer> {
  const child = spawn(process.execPath, ["-e", SERVER, root, logPath], { stdio: ["ignore", "pipe", "inherit"] });
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start the file server");
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => { exited = true; resolve(); }));
  const stop = async (): Promise<void> => {
    if (exited) return;
    process.kill(pid, "SIGTERM");
    await Promise.race([exit, new Promise((r) => setTimeout(r, 5000))]);
    if (!exited) {
      process.kill(pid, "SIGKILL");
      await exit;
    }
  };
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("file server did not start within 10 s")), 10_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exit.then(() => { clearTimeout(timer); reject(new Error("file server exited during start-up")); });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  const requests = (): FileRequest[] =>
    existsSync(logPath) ? readFileSync(logPath, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as FileRequest) : [];
  return { url: `http://127.0.0.1:${port}`, pid, requests, stop };
}
