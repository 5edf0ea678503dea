/**
 * A loopback stand-in for the EC2 instance metadata service (IMDSv2 only):
 * `PUT /latest/api/token` with a TTL header hands out a session token, and the
 * role listing and role credentials answer only with that token, as on EC2.
 * Point AWS_EC2_METADATA_SERVICE_ENDPOINT at `endpoint`.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createServer } from "node:net";

export interface ImdsStubOptions {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  role?: string;
  /** ISO date the keys expire (default: one hour from each request). */
  expiration?: () => string;
}

export interface ImdsStub {
  endpoint: string;
  /** `METHOD path` of every request, in order. */
  requests: string[];
  stop(): Promise<void>;
}

const TOKEN = "stub-imds-session-token";

export async function startImdsStub(options: ImdsStubOptions): Promise<ImdsStub> {
  const role = options.role ?? "dxp-test-role";
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const send = (status: number, body: string) => {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(body);
    };
    if (req.url === "/latest/api/token") {
      if (req.method !== "PUT") return send(405, "");
      if (!req.headers["x-aws-ec2-metadata-token-ttl-seconds"]) return send(400, "missing TTL");
      return send(200, TOKEN);
    }
    if (req.headers["x-aws-ec2-metadata-token"] !== TOKEN) return send(401, "");
    if (req.url === "/latest/meta-data/iam/security-credentials/") return send(200, `${role}\n`);
    if (req.url === `/latest/meta-data/iam/security-credentials/${role}`) {
      return send(
        200,
        JSON.stringify({
          Code: "Success",
          Type: "AWS-HMAC",
          AccessKeyId: options.accessKeyId,
          SecretAccessKey: options.secretAccessKey,
          ...(options.sessionToken ? { Token: options.sessionToken } : {}),
          Expiration: options.expiration?.() ?? new Date(Date.now() + 3600_000).toISOString(),
        }),
      );
    }
    return send(404, "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP server that accepts connections and never answers: an IMDS that hangs. */
export async function startSilentServer(): Promise<{
  endpoint: string;
  /** How many connections it has accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => accepted,
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
