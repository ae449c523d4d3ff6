/**
 * The "no work" ceilings for the REST path: a bare node:http server that reads the request body
 * and answers 200 with a fixed JSON of the same shape as the real server's answer; with `--json`
 * it also JSON.parses the body (the issue's own reference, "bare node:http parsing the JSON",
 * ≈ 33K req/s), and answers 400 if that fails. Measured with the same load tool and settings as
 * the real server. Usage: tsx bench/lib/bare-server.ts <port> [--json]
 */
import { createServer } from "node:http";

const answer = Buffer.from('{"success":true,"event_id":"evt_0000000000000000","message":"Event tracked successfully"}');
const port = Number(process.argv[2] ?? 0);
const parseJson = process.argv.includes("--json");

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    // A body-less request (the harness's readiness GET) has nothing to parse.
    if (parseJson && chunks.length > 0) {
      try {
        JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        res.writeHead(400, { "content-length": 0 });
        res.end();
        return;
      }
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": answer.length });
    res.end(answer);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => console.error(`bare node:http on 127.0.0.1:${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
