/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1/localhost, made
 * with openssl at test time (scripts/system-deps.sh installs it), for TLS tests on loopback.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOk } from "./run.js";

/** PEM files of a test CA and a server certificate it signed. */
export interface TestCerts {
  dir: string;
  /** The CA certificate (what clients trust). */
  caFile: string;
  ca: Buffer;
  /** The server's certificate and key (for --tls-cert / --tls-key). */
  certFile: string;
  keyFile: string;
}

/** Makes a CA and a server certificate valid for IP 127.0.0.1 and DNS localhost (EC P-256, one day). */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = mkdtempSync(join(tmpdir(), "tracking-tls-"));
  const f = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await runOk("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=tracking test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await runOk("openssl", ["req", ...ec, "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=localhost"]);
  writeFileSync(
    f("server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
  );
  await runOk("openssl", [
    "x509",
    "-req",
    "-in",
    f("server.csr"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("server.pem"),
    "-days",
    "1",
    "-extfile",
    f("server.ext"),
  ]);
  return {
    dir,
    caFile: f("ca.pem"),
    ca: readFileSync(f("ca.pem")),
    certFile: f("server.pem"),
    keyFile: f("server.key"),
  };
}
