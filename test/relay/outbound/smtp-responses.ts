// Real SMTP replies as destination servers send them (addresses, IPs and ids replaced by documentation
// values), with the command they answered and what the relay must make of them: the cause (as Sisimai
// names it) and the error status of the `bounced` event (SPEC 2.1), or a deferral.

export type ResponseCase = {
  readonly system: string;
  /** The command answered, as nodemailer names it. */
  readonly command: "CONN" | "EHLO" | "STARTTLS" | "AUTH PLAIN" | "MAIL FROM" | "RCPT TO" | "DATA";
  readonly response: string;
  readonly expected: "deferred" | { readonly reason: string; readonly errorStatus: number };
  /** Where the shared rule table (relay/bounce/reason-rules.ts) still answers otherwise, and why. */
};

const failed = (reason: string, errorStatus: number) => ({ reason, errorStatus });

export const RESPONSES: readonly ResponseCase[] = [
  // Google (Gmail, Workspace)
  {
    system: "Gmail",
    command: "RCPT TO",
    response: [
      "550-5.1.1 The email account that you tried to reach does not exist. Please try",
      "550-5.1.1 double-checking the recipient's email address for typos or",
      "550-5.1.1 unnecessary spaces. For more information, go to",
      "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser d9443c01a7336-2370b5f6d7fsi1234567ad.123 - gsmtp",
    ].join("\n"),
    expected: failed("userunknown", 2),
  },
  {
    system: "Gmail",
    command: "RCPT TO",
    response: "550-5.2.1 The email account that you tried to reach is disabled. Learn more at\n550 5.2.1  https://support.google.com/mail/?p=DisabledUser a640c23a62f3a-ae0c1c8f4desi123456766b.12 - gsmtp",
    expected: failed("suspend", 99),
  },
  {
    system: "Gmail",
    command: "RCPT TO",
    response: "452-4.2.2 The recipient's inbox is out of storage space. Please direct the\n452-4.2.2 recipient to\n452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp 41be03b00d2f7-b31f1a2b3c4si1234567a12.456 - gsmtp",
    expected: "deferred",
  },
  {
    system: "Gmail",
    command: "DATA",
    response: "552-5.2.2 The recipient's inbox is out of storage space and inactive. Please direct\n552-5.2.2 the recipient to\n552 5.2.2  https://support.google.com/mail/?p=OverQuotaPerm 5b1f17b1804b1-4530a1b2c3dsi1234567f8.99 - gsmtp",
    expected: failed("mailboxfull", 5),
  },
  {
    system: "Gmail",
    command: "DATA",
    response: "552-5.3.4 Your message exceeded Google's message size limits. Please visit\n552-5.3.4  https://support.google.com/mail/?p=MaxSizeError to view our size\n552 5.3.4 guidelines. 98e67ed59e1d1-313c1a2b3c4si1234567a91.321 - gsmtp",
    expected: failed("mesgtoobig", 8),
  },
  {
    system: "Gmail",
    command: "DATA",
    response: [
      "550-5.7.26 Unauthenticated email from example.com is not accepted due to",
      "550-5.7.26 domain's DMARC policy. Please contact the administrator of",
      "550-5.7.26 example.com domain if this was a legitimate mail. To learn about the",
      "550-5.7.26 DMARC initiative, go to",
      "550 5.7.26  https://support.google.com/mail/?p=DmarcRejection 00721157ae682-71a1b2c3d4esi1234567b3.88 - gsmtp",
    ].join("\n"),
    expected: failed("authfailure", 4),
  },
  {
    system: "Gmail",
    command: "DATA",
    response: [
      "550-5.7.26 This mail has been blocked because the sender is unauthenticated.",
      "550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.",
      "550-5.7.26",
      "550-5.7.26  Authentication results:",
      "550-5.7.26  DKIM = did not pass",
      "550-5.7.26  SPF [example.com] with ip: [192.0.2.1] = did not pass",
      "550-5.7.26",
      "550-5.7.26  For instructions on setting up authentication, go to",
      "550 5.7.26  https://support.google.com/mail/answer/81126#authentication 6a1803df08f44-6fb1a2b3c4dsi1234567a6.7 - gsmtp",
    ].join("\n"),
    expected: failed("authfailure", 4),
  },
  {
    system: "Gmail",
    command: "RCPT TO",
    response: [
      "550-5.7.25 [192.0.2.1] The IP address sending this message does not have a",
      "550-5.7.25 PTR record setup, or the corresponding forward DNS entry does not",
      "550-5.7.25 point to the sending IP. As a policy, Gmail does not accept messages",
      "550-5.7.25 from IPs with missing PTR records. For more information, go to",
      "550 5.7.25  https://support.google.com/mail/answer/81126#ip-practices 3f1490d57ef6-e81a1b2c3d4si1234567276.5 - gsmtp",
    ].join("\n"),
    expected: failed("requireptr", 4),
  },
  {
    system: "Gmail",
    command: "DATA",
    response: [
      "550-5.7.1 [192.0.2.1      12] Our system has detected that this message is",
      "550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,",
      "550-5.7.1 this message has been blocked. For more information, go to",
      "550 5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError 71dfb90a1353d-53e1a2b3c4dsi1234567e0c.4 - gsmtp",
    ].join("\n"),
    expected: failed("spamdetected", 4),
  },
  {
    system: "Gmail",
    command: "DATA",
    response: [
      "421-4.7.0 [192.0.2.1      15] Our system has detected an unusual rate of",
      "421-4.7.0 unsolicited mail originating from your IP address. To protect our",
      "421-4.7.0 users from spam, mail sent from your IP address has been temporarily",
      "421 4.7.0 rate limited. 5b1f17b1804b1-4530a1b2c3dsi1234567f8.12 - gsmtp",
    ].join("\n"),
    expected: "deferred",
  },
  {
    system: "Gmail",
    command: "EHLO",
    response: "421 4.7.0 Try again later, closing connection. (EHLO) d2e1a72fcca58-7394f8b4b3asi1234567b3a.123 - gsmtp",
    expected: "deferred",
  },

  // Microsoft (Outlook.com, Office 365, Exchange)
  {
    system: "Outlook.com",
    command: "RCPT TO",
    response: "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [DM6NAM12FT043.eop-nam12.prod.protection.outlook.com 2025-06-03T10:00:00.000Z 08DDA1B2C3D4E5F6]",
    expected: failed("userunknown", 2),
  },
  {
    system: "Office 365",
    command: "RCPT TO",
    response: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient nobody@example.org not found by SMTP address lookup",
    expected: failed("userunknown", 2),
  },
  {
    system: "Office 365",
    command: "RCPT TO",
    response: "550 5.4.1 Recipient address rejected: Access denied. For more information see https://aka.ms/EXOSmtpErrors [AM4PEPF00027A5F.eurprd04.prod.outlook.com 2025-06-03T10:00:00.000Z 08DDA1B2C3D4E5F6]",
    expected: failed("userunknown", 2),
  },
  {
    system: "Outlook.com",
    command: "RCPT TO",
    response: "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3140). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. [BN1NAM02FT012.eop-nam02.prod.protection.outlook.com 2025-06-03T10:00:00.000Z 08DDA1B2C3D4E5F6]",
    expected: failed("blocked", 4),
  },
  {
    system: "Outlook.com",
    command: "RCPT TO",
    response: "550 5.7.1 Service unavailable, Client host [192.0.2.1] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.1 AS(1450) [SN1NAM02FT063.eop-nam02.prod.protection.outlook.com 2025-06-03T10:00:00.000Z 08DDA1B2C3D4E5F6]",
    expected: failed("blocked", 4),
  },
  {
    system: "Office 365",
    command: "RCPT TO",
    response: "550 5.7.606 Access denied, banned sending IP [192.0.2.1]. To request removal from this list please visit https://sender.office.com/ and follow the directions. For more information please go to  http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) [VI1EUR04FT012.eop-eur04.prod.protection.outlook.com 2025-06-03T10:00:00.000Z 08DDA1B2C3D4E5F6]",
    expected: failed("blocked", 4),
  },
  {
    system: "Office 365",
    command: "DATA",
    response: "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot open mailbox.[EndDiagnosticData]",
    expected: failed("mailboxfull", 5),
  },
  {
    system: "Exchange",
    command: "DATA",
    response: "550 5.3.4 ROUTING.SizeLimit; message size exceeds fixed maximum size for route",
    expected: failed("mesgtoobig", 8),
  },
  {
    system: "Exchange",
    command: "DATA",
    response: "554 5.4.14 Hop count exceeded - possible mail loop ATTR34 [AM6PR04MB1234.eurprd04.prod.outlook.com 2025-06-03T10:00:00.000Z 08DDA1B2C3D4E5F6]",
    expected: failed("networkerror", 7),
  },
  {
    system: "Exchange",
    command: "RCPT TO",
    response: "452 4.3.1 Insufficient system resources",
    expected: "deferred",
  },
  {
    system: "Outlook.com",
    command: "MAIL FROM",
    response: "451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775) [Name=Protocol Filter Agent][AGT=PFA][MxId=11BAF2B3C4D5E6F7] [BN3NAM04FT012.eop-NAM04.prod.protection.outlook.com 2025-06-03T10:00:00.000Z 08DDA1B2C3D4E5F6]",
    expected: "deferred",
  },

  // Yahoo, AOL, Apple
  {
    system: "Yahoo",
    command: "DATA",
    response: "554 delivery error: dd This user doesn't have a yahoo.com account (nobody@yahoo.com) [0] - mta1061.mail.ne1.yahoo.com",
    // Sisimai says userunknown; user-unknown words answered to DATA (after the message was seen) are
    // read as a filter's refusal, which the bounce corpus labels both ways for identical text.
    expected: failed("filtered", 4),
  },
  {
    system: "Yahoo",
    command: "DATA",
    response: "554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes",
    expected: failed("policyviolation", 4),
  },
  {
    system: "Yahoo",
    command: "CONN",
    response: "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes",
    expected: failed("blocked", 4),
  },
  {
    system: "Yahoo",
    command: "RCPT TO",
    response: "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
    expected: "deferred",
  },
  {
    system: "iCloud",
    command: "RCPT TO",
    response: "550 5.1.1 <nobody@icloud.com>: user does not exist",
    expected: failed("userunknown", 2),
  },

  // Postfix
  {
    system: "Postfix",
    command: "RCPT TO",
    response: "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in local recipient table",
    expected: failed("userunknown", 2),
  },
  {
    system: "Postfix",
    command: "RCPT TO",
    response: "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table",
    expected: failed("userunknown", 2),
  },
  {
    system: "Postfix",
    command: "RCPT TO",
    response: "554 5.7.1 <nobody@example.org>: Relay access denied",
    expected: failed("norelaying", 4),
  },
  {
    system: "Postfix",
    command: "DATA",
    response: "552 5.3.4 Message size exceeds fixed limit",
    expected: failed("mesgtoobig", 8),
  },
  {
    system: "Postfix (Dovecot LMTP)",
    command: "DATA",
    response: "552 5.2.2 <user@example.org> Quota exceeded (mailbox for user is full)",
    expected: failed("mailboxfull", 5),
  },
  {
    system: "Postfix",
    command: "RCPT TO",
    response: "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1",
    expected: failed("blocked", 4),
  },
  {
    system: "Postfix",
    command: "RCPT TO",
    response: "550 5.7.1 <unknown[192.0.2.1]>: Client host rejected: cannot find your reverse hostname, [192.0.2.1]",
    expected: failed("requireptr", 4),
  },
  {
    system: "Postfix",
    command: "MAIL FROM",
    response: "553 5.7.1 <bounce@example.com>: Sender address rejected: not owned by user sender@example.com",
    expected: failed("rejected", 4),
  },
  {
    system: "Postfix",
    command: "RCPT TO",
    response: "556 5.1.10 <nobody@example.org>: Recipient address rejected: Domain example.org does not accept mail (nullMX)",
    expected: failed("notaccept", 4),
  },
  {
    system: "Postfix",
    command: "DATA",
    response: "554 5.4.6 Too many hops",
    expected: failed("networkerror", 7),
  },
  {
    system: "Postfix (amavis)",
    command: "DATA",
    response: "554 5.7.0 Reject, id=12345-01 - INFECTED: Eicar-Signature",
    expected: failed("virusdetected", 4),
  },
  {
    system: "Postfix (postgrey)",
    command: "RCPT TO",
    response: "450 4.2.0 <user@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.org.html",
    expected: "deferred",
  },
  {
    system: "Postfix",
    command: "RCPT TO",
    response: "450 4.1.8 <bounce@example.com>: Sender address rejected: Domain not found",
    expected: "deferred",
  },
  {
    system: "Postfix",
    command: "CONN",
    response: "421 4.3.2 Service shutting down",
    expected: "deferred",
  },
  {
    system: "Postfix",
    command: "STARTTLS",
    response: "454 4.7.0 TLS not available due to local problem",
    expected: "deferred",
  },
  {
    system: "Postfix",
    command: "AUTH PLAIN",
    response: "535 5.7.8 Error: authentication failed: authentication failure",
    expected: "deferred",
  },
  {
    system: "Postfix",
    command: "RCPT TO",
    response: "503 5.5.1 Error: need MAIL command",
    expected: "deferred",
  },

  // Exim (cPanel and others)
  {
    system: "Exim",
    command: "RCPT TO",
    response: "550 Unrouteable address",
    expected: failed("hostunknown", 1),
  },
  {
    system: "Exim (cPanel)",
    command: "RCPT TO",
    response: "550 No Such User Here",
    expected: failed("userunknown", 2),
  },
  {
    system: "Exim",
    command: "RCPT TO",
    response: "550 relay not permitted",
    expected: failed("norelaying", 4),
  },
  {
    system: "Exim",
    command: "DATA",
    response: "552 Message size exceeds maximum permitted",
    expected: failed("mesgtoobig", 8),
  },
  {
    system: "Exim (SpamAssassin)",
    command: "DATA",
    response: "550 This message scored 15.3 spam points.",
    expected: failed("spamdetected", 4),
  },
  {
    system: "Exim",
    command: "RCPT TO",
    response: "451 Temporary local problem - please try later",
    expected: "deferred",
  },

  // Sendmail
  {
    system: "Sendmail",
    command: "RCPT TO",
    response: "550 5.1.1 <nobody@example.org>... User unknown",
    expected: failed("userunknown", 2),
  },
  {
    system: "Sendmail",
    command: "RCPT TO",
    response: "550 5.7.1 <nobody@example.org>... Relaying denied",
    expected: failed("norelaying", 4),
  },
  {
    system: "Sendmail",
    command: "MAIL FROM",
    response: "553 5.1.8 <bounce@example.com>... Domain of sender address bounce@example.com does not exist",
    expected: failed("rejected", 4),
  },
  {
    system: "Sendmail",
    command: "DATA",
    response: "552 5.2.3 Message size exceeds maximum value",
    expected: failed("exceedlimit", 5),
  },
  {
    system: "Sendmail",
    command: "RCPT TO",
    response: "550 5.2.1 <nobody@example.org>... Mailbox disabled for this recipient",
    expected: failed("suspend", 99),
  },
  {
    system: "Sendmail",
    command: "RCPT TO",
    response: "551 5.1.6 User has moved; please try <moved@example.net>",
    expected: failed("hasmoved", 6),
  },

  // qmail, other providers and filters
  {
    system: "qmail",
    command: "RCPT TO",
    response: "550 5.1.1 sorry, no mailbox here by that name. (#5.7.17)",
    expected: failed("userunknown", 2),
  },
  {
    system: "Mimecast",
    command: "RCPT TO",
    response: "550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550 [aBcDeFgHiJkLmNoPqRsTuV.uk123]",
    expected: failed("userunknown", 2),
  },
  {
    system: "Proofpoint",
    command: "CONN",
    response: "554 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1",
    expected: failed("blocked", 4),
  },
  {
    system: "GMX",
    command: "CONN",
    response: "554-gmx.net (mxgmx017) Nemesis ESMTP Service not available\n554-No SMTP service\n554-IP address is block listed.\n554 For explanation visit https://www.gmx.net/mail/senderguidelines?ip=192.0.2.1&c=bl",
    expected: failed("blocked", 4),
  },
  {
    system: "GMX",
    command: "RCPT TO",
    response: "550 Requested action not taken: mailbox unavailable",
    expected: failed("userunknown", 2),
  },
  {
    system: "Yandex",
    command: "RCPT TO",
    response: "550 5.7.1 No such user!",
    expected: failed("userunknown", 2),
  },
  {
    system: "Zoho",
    command: "RCPT TO",
    response: "550 5.1.1 User does not exist - <nobody@zoho.com>",
    expected: failed("userunknown", 2),
  },
  {
    system: "T-Online",
    command: "CONN",
    response: "554 IP=192.0.2.1 - A problem occurred. (Ask your postmaster for help or to contact tosa@rx.t-online.de to clarify.) (BL)",
    expected: failed("blocked", 4),
  },
  {
    system: "Orange",
    command: "CONN",
    response: "550 5.7.1 Service refused, please contact postmaster (OFR_999) [999]",
    expected: failed("blocked", 4),
  },
  {
    system: "Exchange",
    command: "RCPT TO",
    response: "550 5.7.1 RESOLVER.RST.AuthRequired; authentication required",
    expected: failed("securityerror", 4),
  },
  {
    system: "Sendmail",
    command: "RCPT TO",
    response: "550 5.1.2 Host unknown (Name server: mx.example.org: host not found)",
    expected: failed("hostunknown", 1),
  },
];
