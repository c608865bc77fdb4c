// The rules that turn a failure into a cause, kept as data: response-text patterns, enhanced status
// codes and SMTP reply codes. Written from RFC 3463/5321 and from what real servers say in the
// bounce corpus (test/relay/bounce/corpus.test.ts measures them on it).
//
// Text patterns use RE2 syntax (compiled by re2js: linear time on untrusted text) and are matched
// against the diagnostic in lower case with runs of white space collapsed to one space. The first
// rule with a matching pattern wins, so the order below is the precedence between causes.
import type { Reason } from "./reasons.ts";

export interface TextRule {
  readonly reason: Reason;
  readonly patterns: readonly string[];
}

export const TEXT_RULES: readonly TextRule[] = [
  {
    reason: "mailererror",
    patterns: [
      String.raw`\bprocmail\b`,
      String.raw`\bpipe to \|`,
      String.raw`\bcommand died\b`,
      String.raw`\bcommand output\b`,
      String.raw`\bmailer error\b`,
      String.raw`\bx-unix\b`,
      String.raw`\|ifs=`,
      String.raw`\bexec \S*/`,
    ],
  },
  {
    reason: "notcompliantrfc",
    patterns: [
      // A bare "rfc822" is the address type of DSN fields ("Final-Recipient: rfc822; …"), no cause.
      String.raw`\brfc ?(?:5322|2822|822|5321) (?:compliant|specification|standard|requirement)`,
      String.raw`\bnot (?:rfc )?compliant\b`,
      String.raw`\bmultiple (?:\S+ ){0,4}(?:addresses in from|subject|from|date|to)\b`,
      String.raw`\bduplicate header\b`,
    ],
  },
  {
    reason: "networkerror",
    patterns: [
      String.raw`\bhost not found, try again\b`,
      String.raw`\bmalformed or unexpected name server reply\b`,
    ],
  },
  {
    reason: "blocked",
    patterns: [
      String.raw`\bnot accepting connections\b`,
      String.raw`\brefused to talk to me\b`,
      String.raw`\bmy name was rejected\b`,
    ],
  },
  {
    reason: "requireptr",
    patterns: [
      String.raw`\bbad dns ptr\b`,
    ],
  },
  {
    reason: "rejected",
    patterns: [
      String.raw`\bdomain of sender address\b`,
      String.raw`\bto/from an address that has been blacklisted\b`,
    ],
  },
  {
    reason: "policyviolation",
    patterns: [
      String.raw`\bcontent presents a potential\b`,
    ],
  },
  {
    reason: "notaccept",
    patterns: [
      String.raw`\bdoesn't receive email\b`,
      String.raw`\bnull mx\b`,
      String.raw`\bno smtp service\b`,
      String.raw`\bno mx (?:record )?found\b`,
      String.raw`\bcouldn't find a mail exchanger\b`,
      String.raw`\bdoes not accept (?:e-?)?mail\b`,
      String.raw`\bnot accepting (?:e-?)?mail\b`,
      String.raw`\bno mail service\b`,
    ],
  },
  {
    reason: "hostunknown",
    patterns: [
      String.raw`\bhost or domain name not found\b`,
      String.raw`\bdomain is not reachable\b`,
      String.raw`\bthe account or domain may not exist\b`,
      String.raw`\bhost (?:is )?(?:unknown|not found)\b`,
      String.raw`\bunknown (?:host|domain)\b`,
      String.raw`\bhost [a-z0-9.-]+ not found\b`,
      String.raw`\bdomain (?:name )?(?:not found|does not exist|unknown)\b`,
      String.raw`\bno such (?:domain|host)\b`,
      String.raw`\bname or service not known\b`,
      String.raw`\bunrouteable address\b`,
      String.raw`\bmx records point to non-existent hosts\b`,
      String.raw`\bno (?:mx|a) record\b`,
      String.raw`\bnot (?:a )?(?:known|valid) domain\b`,
      String.raw`(?:^|[\s:])[a-z0-9-]+(?:\.[a-z0-9-]+)+ does not exist`,
    ],
  },
  {
    reason: "networkerror",
    patterns: [
      String.raw`\bname service error\b`,
      String.raw`\bdns error\b`,
      String.raw`\bhost name lookup failure\b`,
      String.raw`\bnetwork error\b`,
      String.raw`\bwasn't able to establish an smtp connection\b`,
      String.raw`\bconnection (?:refused|reset)\b`,
      String.raw`\bnetwork (?:is )?unreachable\b`,
      String.raw`\bno route to host\b`,
      String.raw`\bcould not connect\b`,
      String.raw`\blost connection\b`,
      String.raw`\btoo many hops\b`,
      String.raw`\bmail loop`,
      String.raw`\bloops back to myself\b`,
      String.raw`\brouting loop\b`,
    ],
  },
  {
    reason: "hasmoved",
    patterns: [
      String.raw`\bhas been replaced by\b`,
      String.raw`\baddress (?:has )?changed\b`,
      String.raw`\buser has moved\b`,
      String.raw`\bmoved (?:permanently|to)\b`,
    ],
  },
  {
    reason: "exceedlimit",
    patterns: [
      String.raw`\brecipsizelimit\b`,
      String.raw`\btoo large for this recipient\b`,
      String.raw`\bexceeds limit set by recipient\b`,
    ],
  },
  {
    reason: "mesgtoobig",
    patterns: [
      String.raw`message (?:size |length )?(?:is )?(?:too (?:big|large|long)|exceeds)`,
      String.raw`\bmessage file too big\b`,
      String.raw`size (?:of (?:the )?message )?exceeds`,
      String.raw`exceeds (?:the )?(?:maximum|max|fixed) (?:allowed )?(?:message )?size`,
      String.raw`\bmessage too large\b`,
      String.raw`\bmail (?:size|is) too large\b`,
      String.raw`\bsize limit\b.*\bexceed`,
      String.raw`\bline limit exceeded\b`,
    ],
  },
  {
    reason: "systemfull",
    patterns: [
      String.raw`\binsufficient (?:disk|system) (?:space|storage)\b`,
      String.raw`\bmail system (?:is )?full\b`,
      String.raw`\bout of disk space\b`,
    ],
  },
  {
    reason: "mailboxfull",
    patterns: [
      String.raw`\bmail ?box (?:is )?(?:full|over quota|exceeded|exceeds)`,
      String.raw`\bover (?:the )?(?:disk )?quota\b`,
      String.raw`\bquota (?:exceeded|full|violation)\b`,
      String.raw`\bexceeded (?:its |his |her |the )?(?:storage|quota|disk|mailbox)`,
      String.raw`\b(?:account|inbox|mailfolder|folder|user) (?:is )?(?:full|over quota)\b`,
      String.raw`\bmailbox size limit\b`,
      String.raw`\bnot enough disk space\b`,
      String.raw`\bfull mailbox\b`,
      String.raw`\bmailbox full\b`,
      String.raw`\bno space left\b`,
      String.raw`\btoo much mail data\b`,
      String.raw`\bnumber of messages in recipient's mailbox exceeded\b`,
    ],
  },
  {
    reason: "speeding",
    patterns: [
      String.raw`\breceiving mail at a rate\b`,
      String.raw`\bsent to too many recipients\b`,
      String.raw`\brate limit(?:ed)? (?:for|on) (?:messages|sending)\b`,
      String.raw`\bthrottl`,
    ],
  },
  {
    reason: "toomanyconn",
    patterns: [
      String.raw`\btoo many (?:connections|concurrent|sessions|recipients)\b`,
      String.raw`\bconnection (?:rate )?limit`,
      String.raw`\bfrequency limited\b`,
    ],
  },
  {
    reason: "suspend",
    patterns: [
      String.raw`\btemporar(?:il)?y locked\b`,
      String.raw`\baccount is locked\b`,
      String.raw`\brecipient account is blocked\b`,
      String.raw`\b(?:account|mailbox|user|address) (?:has been |is |was )?(?:disabled|suspended|deactivated|inactive|frozen)`,
      String.raw`\binactive (?:account|mailbox|user)\b`,
      String.raw`\bdisabled (?:account|mailbox|user)\b`,
      String.raw`\baccount (?:has )?expired\b`,
      String.raw`\bsuspended\b`,
    ],
  },
  {
    reason: "filtered",
    patterns: [
      String.raw`\b5\d\d:? : user unknown\b`,
      String.raw`\brefused due to recipient preferences\b`,
      String.raw`\bfiltered\b`,
      String.raw`\bdomain filter\b`,
      String.raw`\buser refuses\b`,
      String.raw`\brecipient refuses\b`,
      String.raw`\bcontent filter\b`,
    ],
  },
  {
    reason: "userunknown",
    patterns: [
      String.raw`\b(?:user|recipient|mailbox|addressee|account|address|local part|alias)(?: name)? (?:is )?(?:unknown|not found|does ?n[o']t exist|not exist|invalid|unavailable|not (?:a )?valid|nonexistent|not recognized)\b`,
      String.raw`\bunknown (?:user|recipient|mailbox|local[- ]part|address|addressee|alias|account)\b`,
      String.raw`\bno such (?:user|recipient|mailbox|account|address|person|local user)\b`,
      String.raw`\binvalid (?:recipient|mailbox|user|address|account|final delivery userid)\b`,
      String.raw`\b(?:user|mailbox|recipient) not (?:found|known|listed|local)\b`,
      String.raw`\bno mailbox (?:here|by that name)\b`,
      String.raw`\bdoes(?: not|n't) have an? .{0,40}account\b`,
      String.raw`\bnot a valid (?:user|mailbox|recipient)\b`,
      String.raw`\bis not a known user\b`,
      String.raw`\bbad destination mailbox address\b`,
      String.raw`\bthe email account that you tried to reach does not exist\b`,
      String.raw`\brecipient address rejected(?:: (?:user|undeliverable|access denied)|\.|$)`,
      String.raw`\bnot listed in (?:the )?(?:domino )?directory\b`,
      String.raw`\bno valid recipients\b`,
      String.raw`\baddress couldn't be found\b`,
    ],
  },
  {
    reason: "systemerror",
    patterns: [
      String.raw`\bafter multiple retries\b`,
      String.raw`\bunable to contact ldap server\b`,
    ],
  },
  {
    reason: "expired",
    patterns: [
      String.raw`\bretry (?:timeout|time) (?:exceeded|expired)\b`,
      String.raw`\b(?:message|delivery) (?:time )?(?:expired|timed out)\b`,
      String.raw`\btoo long in (?:the )?queue\b`,
      String.raw`\bin the queue too long\b`,
      String.raw`\bqueue (?:lifetime|time) (?:exceeded|expired)\b`,
      String.raw`\bcould not be delivered for (?:\d+|more than)`,
      String.raw`\bcould not deliver for the last\b`,
      String.raw`\bhave been failing for a long time\b`,
      String.raw`\bdid not accept our requests to connect\b`,
      String.raw`\bmessage will be retried\b`,
      String.raw`\bdelivery failed \d+ attempts\b`,
      String.raw`\benvelope expired\b`,
      String.raw`\bunable to deliver (?:this )?message after\b`,
      String.raw`\bcould not find a gateway\b`,
      String.raw`\bwarning message only\b`,
      String.raw`\bhost not reachable\b`,
      String.raw`\bconnection timed out\b`,
      String.raw`\bretry time not reached for any host after a long failure period\b`,
      String.raw`\bwas not delivered within\b`,
    ],
  },
  {
    reason: "norelaying",
    patterns: [
      String.raw`\brelay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed))\b`,
      String.raw`\bnot (?:permitted|allowed|configured) to relay\b`,
      String.raw`\bunable to relay\b`,
      String.raw`\bwe do not relay\b`,
      String.raw`\bno relaying\b`,
      String.raw`\bemail address is not verified\b`,
    ],
  },
  {
    reason: "spamdetected",
    patterns: [
      String.raw`\brejected due to spam classification\b`,
    ],
  },
  {
    reason: "authfailure",
    patterns: [
      String.raw`\bspf\b`,
      String.raw`\bdmarc\b`,
      String.raw`\bdkim\b`,
      String.raw`\bsender policy framework\b`,
      String.raw`\bauthentication checks failed\b`,
      String.raw`\bunauthenticated email\b`,
      String.raw`\bdoes not have authentication information\b`,
    ],
  },
  {
    reason: "requireptr",
    patterns: [
      String.raw`\breverse (?:dns|lookup|hostname)\b`,
      String.raw`\bptr (?:record|lookup)\b`,
      String.raw`\bno ptr\b`,
      String.raw`\bcannot find your (?:reverse )?hostname\b`,
      String.raw`\brdns\b`,
      String.raw`\bmismatches client ip\b`,
      String.raw`\bip name lookup failed\b`,
    ],
  },
  {
    reason: "securityerror",
    patterns: [
      String.raw`\bunauthenticated senders not allowed\b`,
      String.raw`\bturn on smtp authentication\b`,
      String.raw`\bauthentication (?:required|failed)\b`,
      String.raw`\bmust issue a starttls\b`,
      String.raw`\b(?:tls|encryption) required\b`,
    ],
  },
  {
    reason: "badreputation",
    patterns: [
      String.raw`\b(?:poor|bad|low) (?:ip )?reputation\b`,
      String.raw`\breputation\b`,
    ],
  },
  {
    reason: "virusdetected",
    patterns: [
      String.raw`\bvirus\b`,
      String.raw`\bmalware\b`,
      String.raw`\binfected\b`,
    ],
  },
  {
    // Before "blocked": Gmail's spam refusal also says "this message has been blocked".
    reason: "spamdetected",
    patterns: [String.raw`\blikely unsolicited\b`],
  },
  {
    reason: "blocked",
    patterns: [
      String.raw`\baup#cdrbl\b`,
      String.raw`\bclient host blocked\b`,
      String.raw`\badresse ip source bloquee\b`,
      String.raw`\bdnsbl\b`,
      String.raw`\bblocked using\b`,
      String.raw`\bbanned sending ip\b`,
      String.raw`\bplease use the smtp server of your isp\b`,
      String.raw`\bsc-00\d\b`,
      String.raw`\binvalid ip for sending\b`,
      String.raw`\(bl\)`,
      String.raw`\bopen relay\b`,
      String.raw`\bmy name was rejected\b`,
      String.raw`\bservice refused\b`,
      String.raw`\bblack ?list`,
      String.raw`\bblock ?list`,
      String.raw`\b(?:dns)?rbl\b`,
      String.raw`\bspamhaus\b`,
      String.raw`\bspamcop\b`,
      String.raw`\bclient host .{0,80}(?:rejected|blocked)\b`,
      String.raw`\byour (?:ip|host|server|network)\b.{0,60}\b(?:blocked|rejected|banned|listed|not allowed)\b`,
      String.raw`\bblocked\b`,
    ],
  },
  {
    reason: "policyviolation",
    patterns: [
      String.raw`\bcontent presents a potential\b`,
      String.raw`\bpolicy reasons\b`,
      String.raw`\bhost network not allowed\b`,
      String.raw`\bheader error\b`,
    ],
  },
  {
    reason: "spamdetected",
    patterns: [
      String.raw`\bube\b`,
      String.raw`\bofr_506\b`,
      String.raw`\bmessage content rejected\b`,
      String.raw`\bspam\b`,
      String.raw`\bjunk mail\b`,
      String.raw`\bunsolicited\b`,
      String.raw`\bbulk mail\b`,
    ],
  },
  {
    reason: "rejected",
    patterns: [
      String.raw`\bsender (?:address )?(?:was )?(?:rejected|denied|refused|verify failed|unknown)\b`,
      String.raw`\bunroutable sender\b`,
      String.raw`\bpurported responsible address\b`,
      String.raw`\bfrom: domain is invalid\b`,
      String.raw`\bnot a registered gateway user\b`,
      String.raw`\baccess denied\b`,
      String.raw`\bto/from an address that has been blacklisted\b`,
      String.raw`\bsend mail as\b`,
      String.raw`\bgroups\.google\.com\b`,
      String.raw`\bunexpected volume or user complaints\b`,
      String.raw`\bdomain of sender address\b`,
      String.raw`\bmail from .{0,60}rejected\b`,
      String.raw`\binvalid sender\b`,
      String.raw`\bsender domain\b`,
    ],
  },
  {
    reason: "failedstarttls",
    patterns: [
      String.raw`\bstarttls (?:failed|negotiation)\b`,
      String.raw`\btls (?:negotiation|handshake) failed\b`,
      String.raw`\bdoes not support (?:start)?tls\b`,
    ],
  },
  {
    reason: "securityerror",
    patterns: [
      String.raw`\bsecurity\b`,
    ],
  },
  {
    reason: "contenterror",
    patterns: [
      String.raw`\b8-bit data\b`,
      String.raw`\binvalid (?:header|message content)\b`,
    ],
  },
  {
    reason: "policyviolation",
    patterns: [
      String.raw`\bpolicy\b`,
      String.raw`\bprohibited\b`,
      String.raw`\bviolat`,
    ],
  },
  {
    reason: "syntaxerror",
    patterns: [
      String.raw`\bsyntax error\b`,
      String.raw`\bcommand unrecognized\b`,
      String.raw`\bbad sequence of commands\b`,
      String.raw`\bimproper sequence of commands\b`,
      String.raw`\bcommand parameter not implemented\b`,
      String.raw`\bmalformed address\b`,
    ],
  },
  {
    reason: "systemerror",
    patterns: [
      String.raw`\bsystem error\b`,
      String.raw`\binternal (?:server )?error\b`,
      String.raw`\blocal error\b`,
      String.raw`\bserver error\b`,
      String.raw`\bcould not load\b`,
      String.raw`\btransaction failed\b`,
      String.raw`\bservice currently unavailable\b`,
      String.raw`\bduplicated message-id\b`,
    ],
  },
  {
    reason: "contenterror",
    patterns: [
      String.raw`\bmalformed\b`,
    ],
  },
];

/**
 * Enhanced status codes (RFC 3463 and the IANA registry) whose meaning names one cause. Consulted when
 * no text rule matches. "X" stands for the class (4 or 5).
 */
export const STATUS_RULES: Readonly<Record<string, Reason>> = {
  "X.1.1": "userunknown",
  "X.1.2": "hostunknown",
  "X.1.3": "userunknown",
  "X.1.4": "userunknown",
  "X.1.6": "hasmoved",
  "X.1.7": "rejected",
  "X.1.8": "rejected",
  "X.1.10": "notaccept",
  "X.2.1": "suspend",
  "X.2.2": "mailboxfull",
  "X.2.3": "exceedlimit",
  "X.2.4": "systemerror",
  "X.3.1": "systemfull",
  "X.4.5": "systemfull",
  "X.3.2": "notaccept",
  "X.3.4": "mesgtoobig",
  "X.3.5": "systemerror",
  "X.4.1": "networkerror",
  "X.4.2": "networkerror",
  "X.4.3": "systemerror",
  "X.4.4": "hostunknown",
  "X.4.6": "networkerror",
  "X.4.7": "expired",
  "X.5.1": "syntaxerror",
  "X.5.2": "syntaxerror",
  "X.5.4": "syntaxerror",
  "X.6.0": "contenterror",
  "X.6.1": "contenterror",
  "X.6.9": "contenterror",
  "X.7.1": "rejected",
  "X.7.5": "securityerror",
  "X.7.6": "securityerror",
  "X.7.7": "securityerror",
  "X.7.8": "securityerror",
  "X.7.9": "policyviolation",
  "X.7.11": "securityerror",
  "X.7.13": "suspend",
  "X.7.17": "suspend",
  "X.7.18": "suspend",
  "X.7.23": "authfailure",
  "X.7.24": "authfailure",
  "X.7.25": "requireptr",
  "X.7.26": "authfailure",
  "X.7.27": "notaccept",
};

/** SMTP reply codes that name a cause on their own, for reports that carry nothing else. */
export const REPLY_CODE_RULES: Readonly<Record<string, Reason>> = {
  "552": "mailboxfull",
  "553": "userunknown",
  "554": "rejected",
  "452": "mailboxfull",
};

/**
 * Diagnostic-Code types (RFC 3464 section 2.3.6) that name a cause when the diagnostic's text does not:
 * "x-unix" is the report of a local delivery program (procmail, maildrop, a sysexits code).
 */
export const DIAGNOSTIC_TYPE_RULES: Readonly<Record<string, Reason>> = {
  "x-unix": "mailererror",
};

/** Status codes precise enough to outrank the words of the response. */
export const DECISIVE_STATUSES: ReadonlySet<string> = new Set(["X.2.3"]);
