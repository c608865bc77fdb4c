// `npm start`: the whole inbound flow on one machine. Starts the demo HTTPS receiver (which prints
// every post), then the relay on the checked-in local config and example manifests. Send a mail with
// `npm run send-mail` (or swaks) from another terminal; Ctrl-C stops both.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { validateFiles } from "../operator/validate.ts";
import { startDemoReceiver } from "./demo-receiver.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const manifests = "examples/manifests";
const { result } = await validateFiles([`${root}${manifests}`]);
const receiver = await startDemoReceiver(8443, result.webhooks.inbound[0]?.auth.signingSecrets?.[0]);
console.log(`demo receiver: https://localhost:${receiver.port}/inbound (prints each post)`);
console.log("relay: SMTP on 127.0.0.1:2525 for example.com, submission on 127.0.0.1:2587, metrics on http://127.0.0.1:9464/metrics");
console.log("send a test mail:  npm run send-mail              (inbound: → the support webhook)");
console.log("                   npm run send-mail -- --submit  (relayed: → delivered, and its events → the events webhook)\n");

const relay = spawn(process.execPath, ["bin/mailhook.ts", "relay", "--config", "examples/relay.local.yaml", "--manifests", manifests], {
  cwd: root,
  stdio: "inherit",
});
const stop = () => relay.kill("SIGTERM");
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
relay.once("exit", (code) => {
  receiver.close();
  process.exitCode = code ?? 0;
});
