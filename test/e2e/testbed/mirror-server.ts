/**
 * The bed's package mirror: serves a directory read-only over HTTP, one log line per request.
 * Runs as its own process so the bed can stop it by PID and a kept bed outlives the CLI.
 *
 *   node --import tsx test/e2e/testbed/mirror-server.ts DIR ADDRESS PORT
 */
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { resolve, sep } from "node:path";

const [dir, address, port] = process.argv.slice(2);
if (!dir || !address || !port) {
  console.error("usage: mirror-server.ts DIR ADDRESS PORT");
  process.exit(64);
}
const root = resolve(dir);

/** The file a URL path names, or undefined when it is missing, not a file, or outside the root. */
function fileFor(urlPath: string): { path: string; size: number } | undefined {
  let path: string;
  try {
    path = resolve(root, `.${decodeURIComponent(urlPath)}`);
  } catch {
    return undefined;
  }
  if (!path.startsWith(root + sep)) return undefined;
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat?.isFile() ? { path, size: stat.size } : undefined;
}

createServer((request, response) => {
  const file = request.method === "GET" || request.method === "HEAD" ? fileFor(new URL(request.url ?? "/", "http://mirror").pathname) : undefined;
  console.log(`${request.socket.remoteAddress} ${request.method} ${request.url} ${file ? 200 : 404}`);
  if (!file) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { "content-length": file.size, "content-type": "application/octet-stream" });
  if (request.method === "HEAD") response.end();
  else createReadStream(file.path).pipe(response);
}).listen(Number(port), address);
