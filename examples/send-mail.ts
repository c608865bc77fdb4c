// Sends one test mail to the local relay: `npm run send-mail -- [to] [subject]`.
import nodemailer from "nodemailer";

const [to = "support@example.com", subject = "Hello from mailhook"] = process.argv.slice(2);
const transport = nodemailer.createTransport({ host: "127.0.0.1", port: 2525, secure: false, ignoreTLS: true });
const info = await transport.sendMail({
  from: "Alice <alice@sender.example>",
  to,
  subject,
  text: "This mail went through mailhook.\n",
  html: "<p>This mail went through <b>mailhook</b>.</p>",
  attachments: [{ filename: "hello.txt", content: "an attachment\n" }],
});
console.log(`relay answered: ${info.response}`);
