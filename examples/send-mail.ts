// Sends one test mail to the local relay: `npm run send-mail -- [--submit] [to] [subject]`.
// Without --submit the mail goes to the inbound (MX) listener on 2525 and reaches the inbound
// webhook; with --submit it is handed to the submission listener on 2587, relayed, and its
// delivery events reach the event webhook too.
import nodemailer from "nodemailer";

const args = process.argv.slice(2);
const submit = args[0] === "--submit";
const [to = "support@example.com", subject = "Hello from mailhook"] = submit ? args.slice(1) : args;
const transport = nodemailer.createTransport({ host: "127.0.0.1", port: submit ? 2587 : 2525, secure: false, ignoreTLS: true });
const info = await transport.sendMail({
  from: "Alice <alice@sender.example>",
  to,
  subject,
  text: "This mail went through mailhook.\n",
  html: "<p>This mail went through <b>mailhook</b>.</p>",
  attachments: [{ filename: "hello.txt", content: "an attachment\n" }],
  headers: { "X-Mailhook-Api-Data": "demo-order-1" },
});
console.log(`relay answered: ${info.response}`);
