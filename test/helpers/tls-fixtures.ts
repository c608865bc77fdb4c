// Paths to the test-only TLS material in test/fixtures/tls (see make.sh there). The localhost
// certificate is valid for localhost, 127.0.0.1 and ::1 and is signed by the test CA.
import { fileURLToPath } from "node:url";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));

export const testCaFile = fixture("ca.crt");
export const localhostCertFile = fixture("localhost.crt");
export const localhostKeyFile = fixture("localhost.key");
