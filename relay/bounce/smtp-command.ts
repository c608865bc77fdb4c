// Which SMTP command the receiving server was answering when it refused: a recipient refused at RCPT
// is unknown there, the same words after DATA come from a content filter. Pure; plain substring
// search over text already in lower case with white space collapsed.

export type SmtpCommand = "CONN" | "HELO" | "MAIL" | "RCPT" | "DATA" | "";

// How reports name the command, as written by the mail systems in the corpus.
const COMMAND_PHRASES: readonly (readonly [string, SmtpCommand])[] = [
  ["in reply to end of data command", "DATA"],
  ["in reply to data command", "DATA"],
  ["in reply to rcpt to command", "RCPT"],
  ["in reply to mail from command", "MAIL"],
  ["in reply to helo command", "HELO"],
  ["in reply to ehlo command", "HELO"],
  ["after end of data", "DATA"],
  ["after data", "DATA"],
  ["after rcpt to", "RCPT"],
  ["after pipelined rcpt to", "RCPT"],
  ["after mail from", "MAIL"],
  ["after pipelined mail from", "MAIL"],
  ["after initial connection", "CONN"],
  ["after helo", "HELO"],
  ["after ehlo", "HELO"],
  [">>> data", "DATA"],
  [">>> rcpt to", "RCPT"],
  [">>> mail from", "MAIL"],
  [">>> helo", "HELO"],
  [">>> ehlo", "HELO"],
  ["our final data", "DATA"],
  ["our data", "DATA"],
  ["our rcpt to", "RCPT"],
  ["our mail from", "MAIL"],
  ["rcpt to response", "RCPT"],
  ["data response", "DATA"],
  ["[rcpt_to]", "RCPT"],
  ["[data]", "DATA"],
  ["[mail_from]", "MAIL"],
  ["smtp command data", "DATA"],
  ["smtp command rcpt", "RCPT"],
  ["smtp command mail", "MAIL"],
  ["smtp:rcpt", "RCPT"],
  ["smtp:data", "DATA"],
  ["after rcpt command", "RCPT"],
  ["after data command", "DATA"],
  ["does not like recipient", "RCPT"],
  ["(data)", "DATA"],
  ["(rcpt to)", "RCPT"],
  ["(mail from)", "MAIL"],
];

/** The command named earliest in `text` (lower case, white space collapsed), or "". */
export function smtpCommandIn(text: string): SmtpCommand {
  let best: SmtpCommand = "";
  let at = Infinity;
  for (const [phrase, command] of COMMAND_PHRASES) {
    const i = text.indexOf(phrase);
    if (i !== -1 && i < at) {
      at = i;
      best = command;
    }
  }
  return best;
}
