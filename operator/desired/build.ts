// The operator's pure core: resources and Secrets in; the relay's webhook configuration, each resource's
// status, and the problems found out. Used alike by the operator (objects from the API server), by
// standalone mode and by `mailhook validate` (objects from manifest files).
//
// An invalid resource is skipped and reported; it never breaks the others. Output is deterministic:
// webhooks and statuses sorted by `namespace/name`, problems by file and line.
import type { InboundWebhookConfig, WebhookSet } from "../../relay/config/schema.ts";
import { apiVersion, group, objectMeta } from "../api/common.ts";
import { inboundWebhook, inboundWebhookKind } from "../api/inbound-webhook.ts";
import { formatPath, parseWith } from "../api/issues.ts";
import { FirstClaims, identify } from "./identity.ts";
import { compareProblems, locate, type Problem, type SourcedObject } from "./problems.ts";
import { indexSecrets, resolveAuth } from "./secrets.ts";

export interface BuildSettings {
  /** Namespace of objects that name none, like kubectl's current namespace. Default "default". */
  defaultNamespace?: string;
}

export type ConditionReason = "Ready" | "Suspended" | "InvalidSpec" | "SecretNotFound" | "InvalidSecret";

/**
 * A condition as the build decides it. lastTransitionTime is left to whoever writes the status: it must
 * keep the previous time when the status did not change, which a pure function cannot know.
 */
export interface DesiredCondition {
  type: "Ready";
  status: "True" | "False";
  reason: ConditionReason;
  message: string;
  observedGeneration?: number;
}

export interface DesiredStatus {
  observedGeneration?: number;
  conditions: DesiredCondition[];
}

export interface BuildResult {
  webhooks: WebhookSet;
  /** By `namespace/name`, for every resource whose metadata is valid (so that it can exist in a cluster). */
  statuses: Map<string, DesiredStatus>;
  problems: Problem[];
}

/** Longest condition message; the API server allows 32768, a reader much less. */
const maxMessageLength = 4096;

function notReady(reason: ConditionReason, messages: readonly string[], generation: number | undefined): DesiredStatus {
  let message = messages.join("; ");
  if (message.length > maxMessageLength) message = `${message.slice(0, maxMessageLength - 1)}…`;
  return status({ type: "Ready", status: "False", reason, message }, generation);
}

function status(condition: DesiredCondition, generation: number | undefined): DesiredStatus {
  if (generation === undefined) return { conditions: [condition] };
  return { observedGeneration: generation, conditions: [{ ...condition, observedGeneration: generation }] };
}

export function build(resources: readonly SourcedObject[], secrets: readonly SourcedObject[], settings: BuildSettings = {}): BuildResult {
  const defaultNamespace = settings.defaultNamespace ?? "default";
  const { index, problems } = indexSecrets(secrets, defaultNamespace);
  const webhooks: InboundWebhookConfig[] = [];
  const statuses = new Map<string, DesiredStatus>();
  const claims = new FirstClaims(inboundWebhookKind);

  for (const { object, source } of resources) {
    const { apiVersion: version, kind } = (object ?? {}) as { apiVersion?: unknown; kind?: unknown };
    const { key, namespace } = identify(object, defaultNamespace);
    const about = { kind: typeof kind === "string" ? kind : inboundWebhookKind, ...(key !== undefined && { key }) };

    if (version !== apiVersion || kind !== inboundWebhookKind) {
      const field = kind === inboundWebhookKind ? "apiVersion" : "kind";
      const what = field === "kind" ? `unknown ${group} kind ${JSON.stringify(kind)}` : `unsupported version ${JSON.stringify(version)}`;
      problems.push({
        reason: "InvalidManifest",
        message: `${what}; this mailhook serves ${inboundWebhookKind} (${apiVersion})`,
        ...locate(source, [field]),
        ...about,
        field,
      });
      continue;
    }
    const duplicate = key === undefined ? undefined : claims.claim(key, source);
    if (duplicate !== undefined) {
      problems.push(duplicate);
      continue;
    }

    const metadata = parseWith(objectMeta, (object as { metadata?: unknown }).metadata);
    const generation = metadata.success ? metadata.data.generation : undefined;
    // Only an object with valid metadata can exist in a cluster, so only such an object gets a status.
    const setStatus = (s: DesiredStatus) => {
      if (metadata.success && key !== undefined) statuses.set(key, s);
    };

    const parsed = parseWith(inboundWebhook, object);
    if (!parsed.success) {
      const lines: string[] = [];
      for (const issue of parsed.issues) {
        const field = formatPath(issue.path);
        problems.push({ reason: "InvalidSpec", message: issue.message, ...locate(source, issue.path), ...about, field });
        lines.push(`${field}: ${issue.message}`);
      }
      setStatus(notReady("InvalidSpec", lines, generation));
      continue;
    }

    const { metadata: meta, spec } = parsed.data;
    const { auth, issues } = resolveAuth(spec.auth, namespace, index);
    if (issues.length > 0) {
      for (const issue of issues) {
        problems.push({ reason: issue.reason, message: issue.message, ...locate(source, issue.path), ...about, field: formatPath(issue.path) });
      }
      // A missing Secret is the more actionable news (and may be the cause of the rest).
      const reason = issues.some((i) => i.reason === "SecretNotFound") ? "SecretNotFound" : "InvalidSecret";
      setStatus(notReady(reason, issues.map((i) => `${formatPath(i.path)}: ${i.message}`), generation));
      continue;
    }

    webhooks.push({
      key: `${namespace}/${meta.name}`,
      namespace,
      name: meta.name,
      endpoint: spec.endpoint,
      conditions: spec.conditions.map(({ header, pattern }) => ({ header, pattern })),
      contentType: spec.contentType,
      auth,
      retry: { ...spec.retry },
      timeoutSeconds: spec.timeoutSeconds,
      suspended: spec.suspended,
    });
    setStatus(
      spec.suspended
        ? notReady("Suspended", ["spec.suspended is true: deliveries are held until it is set to false"], generation)
        : status({ type: "Ready", status: "True", reason: "Ready", message: "the relay serves this webhook" }, generation),
    );
  }

  webhooks.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const sortedStatuses = new Map([...statuses].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { webhooks: { inbound: webhooks }, statuses: sortedStatuses, problems: problems.sort(compareProblems) };
}
