/**
 * Certificates for mutual-TLS tests, made with the real `openssl` as docs/operations.md tells an
 * operator to: a CA, and per node a key and a certificate signed by it, valid for the address the
 * node is dialed at (an IP SAN) and for both TLS roles (a node is server and client).
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const openssl = (dir: string, ...args: Array<string>) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" })

const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

/** A CA in `dir` as `<name>.crt` / `<name>.key`. */
export const makeCa = (dir: string, name: string): void => {
  openssl(dir, "req", "-x509", ...newKey, "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "2", "-subj", `/CN=${name}`)
}

/** `<name>.crt` / `<name>.key` in `dir`, signed by the CA `<ca>.crt`, for the IP address `ip`. */
export const makeCert = (dir: string, ca: string, name: string, ip: string): void => {
  fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth,clientAuth\n`)
  openssl(dir, "req", ...newKey, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`)
  openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", "2", "-extfile", `${name}.ext`, "-out", `${name}.crt`)
}
