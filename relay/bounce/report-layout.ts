// Where the report ends and the returned original begins, as mail systems write it. Data: a line that
// contains one of these (compared in lower case) starts the original. Plain substring checks, linear.

const SEPARATORS: readonly string[] = [
  "below this line is a copy of the message",
  "this is a copy of the message",
  "this is a copy of the headers",
  "----- original message -----",
  "-----original message-----",
  "original message follows",
  "message headers follow",
  "----- unsent message follows -----",
  "----- returned message -----",
  "------ returned message",
  "--- the header of the original message is following",
  "the header of the original message is following",
  "content-type: message/rfc822",
  "original message header:",
  "----- original message headers -----",
  "----- message header follows -----",
  "--- original message ---",
  "------- original message",
  "--- your message ---",
  "------ failed message header ------",
  "---------- original message",
  "received message headers follow",
  "original message headers:",
  "message text follows:",
  "------------ original message",
  "forwarded message follows",
  "--- headers of the returned message",
  "headers of your message follow",
  "original headers:",
  "------ the original mail is",
];

// Header fields that begin a returned original pasted into the text without a separator line.
const ORIGINAL_HEADER_STARTS: readonly string[] = ["return-path: ", "received: from", "dkim-signature: ", "x-received: ", "arc-seal: "];

export const separatorRules: readonly ((line: string) => boolean)[] = [
  (line) => {
    const lower = line.toLowerCase();
    return SEPARATORS.some((s) => lower.includes(s));
  },
  (line) => {
    const lower = line.toLowerCase();
    return ORIGINAL_HEADER_STARTS.some((s) => lower.startsWith(s));
  },
];
