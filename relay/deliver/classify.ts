// What one webhook POST's result means for the delivery: done, try again, or stop. Pure, so the rules
// are unit-tested exhaustively; scheduling the retry is the schedule's job, not this module's.
// Inbound posts follow the seed rule: any connection failure or error answer is retried until the
// retry period ends; only `410 Gone` stops at once.

export type Classification =
  | { kind: "ok" }
  /** `reason` is short and safe to show in logs and status: never a secret or a URL. */
  | { kind: "retry"; reason: string; retryAfterMs?: number }
  | { kind: "gone" };

export type ResponseSummary = {
  status: number;
  /** Header names in lower case, as undici and node:http deliver them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
};

export type PostResult = { response: ResponseSummary } | { error: unknown };

export function classify(result: PostResult, nowMs: number): Classification {
  if ("error" in result) return { kind: "retry", reason: errorReason(result.error) };
  const { status, headers } = result.response;
  if (status >= 200 && status <= 299) return { kind: "ok" };
  if (status === 410) return { kind: "gone" };
  if (status >= 300 && status <= 399) return { kind: "retry", reason: `HTTP ${status} (redirect not followed)` };
  const reason = `HTTP ${status}`;
  if (status === 429 || status === 503) {
    const header = headers["retry-after"];
    const value = Array.isArray(header) ? header[0] : header;
    const retryAfterMs = value === undefined ? undefined : parseRetryAfter(value, nowMs);
    if (retryAfterMs !== undefined) return { kind: "retry", reason, retryAfterMs };
  }
  return { kind: "retry", reason };
}

/**
 * `Retry-After` as a delay in ms: delta-seconds or an HTTP date (a past date means now). Undefined when
 * the value is neither, so a garbled header falls back to the normal schedule.
 */
export function parseRetryAfter(value: string, nowMs: number): number | undefined {
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  // An HTTP date always names its weekday and GMT; anything else Date.parse would guess at.
  if (text.length > 64 || !/^[A-Za-z]{3,9}, [^,]+ GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

const TIMEOUT_CODES = new Set([
  "ENDPOINT_TIMEOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
]);

// OpenSSL certificate verification results as Node reports them (`err.code`).
const CERTIFICATE_CODES = new Set([
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_CRL",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECRYPT_CRL_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_SIGNATURE_FAILURE",
  "CRL_SIGNATURE_FAILURE",
  "CERT_NOT_YET_VALID",
  "CERT_HAS_EXPIRED",
  "CRL_NOT_YET_VALID",
  "CRL_HAS_EXPIRED",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
  "ERROR_IN_CRL_LAST_UPDATE_FIELD",
  "ERROR_IN_CRL_NEXT_UPDATE_FIELD",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_CHAIN_TOO_LONG",
  "CERT_REVOKED",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "INVALID_PURPOSE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "HOSTNAME_MISMATCH",
]);

/**
 * The stable code of a transport error: its `code`, the first inner error's code for an AggregateError
 * (every address of a dual-stack name failed), the cause's code, or else its name.
 */
export function errorCode(error: unknown): string {
  if (typeof error !== "object" || error === null) return "UNKNOWN";
  const { code, name, cause, errors } = error as { code?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string" && code !== "") return code;
  if (Array.isArray(errors) && errors.length > 0) return errorCode(errors[0]);
  if (cause !== undefined && cause !== error) return errorCode(cause);
  return typeof name === "string" && name !== "" && name !== "Error" ? name : "UNKNOWN";
}

/** A short, secret-free reason for a transport error, e.g. `timeout`, `ECONNREFUSED`, `tls: CERT_HAS_EXPIRED`. */
export function errorReason(error: unknown): string {
  const code = errorCode(error);
  if (TIMEOUT_CODES.has(code) || code === "TimeoutError") return "timeout";
  if (code === "ENDPOINT_ADDRESS_FORBIDDEN") return "endpoint address forbidden";
  if (code === "ENDPOINT_URL_INVALID") return "invalid endpoint URL";
  if (code === "UND_ERR_SOCKET") return "connection closed by endpoint";
  if (CERTIFICATE_CODES.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_")) return `tls: ${code}`;
  // Any other code is a constant identifier (ECONNREFUSED, ENOTFOUND, UND_ERR_…); never echo free text.
  return /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(code) && code !== "UNKNOWN" ? code : "network error";
}
