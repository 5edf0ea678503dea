/**
 * A plain HTTP file server for the benchmarks, run as its own process (the
 * benchmark blocks while a timed command runs): GET and HEAD of the files
 * under ROOT, with Content-Length, streamed from disk. Prints its port.
 *
 *   deno run -A scripts/bench/serve_folder.ts <root>
 */
import { join, normalize } from "node:path";

const root = Deno.args[0];
if (root === undefined) {
  console.error("usage: serve_folder.ts <root>");
  Deno.exit(2);
}
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  const path = normalize(decodeURIComponent(new URL(req.url).pathname));
  if (path.includes("..")) return new Response(null, { status: 400 });
  try {
    const file = await Deno.open(join(root, path));
    const { size, isFile } = await file.stat();
    if (!isFile) {
      file.close();
      return new Response(null, { status: 404 });
    }
    const headers = { "content-length": String(size) };
    if (req.method === "HEAD") {
      file.close();
      return new Response(null, { headers });
    }
    return new Response(file.readable, { headers });
  } catch {
    return new Response(null, { status: 404 });
  }
});
console.log(server.addr.port);
