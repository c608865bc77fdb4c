// The operator's pure core: resources and Secrets in; the relay's webhook configuration, each resource's
// status, and the problems found out. Used alike by the operator (objects from the API server), by
// standalone mode and by `mailhook validate` (objects from manifest files).
//
// An invalid resource is skipped and reported; it never breaks the others. Output is deterministic:
// webhooks sorted by `namespace/name`, statuses by `Kind/namespace/name`, problems by file and line.
import type { z } from "zod";
import type { EventWebhookConfig, InboundWebhookConfig, ResolvedAuth, WebhookSet } from "../../relay/config/schema.ts";
import { apiVersion, group, objectMeta, type AuthSpec, type ObjectMeta } from "../api/common.ts";
import { eventWebhook, eventWebhookKind, type EventWebhook } from "../api/event-webhook.ts";
import { inboundWebhook, inboundWebhookKind, type InboundWebhook } from "../api/inbound-webhook.ts";
import { formatPath, parseWith } from "../api/issues.ts";
import { FirstClaims, identify } from "./identity.ts";
import { compareProblems, locate, type Problem, type Source, type SourcedObject } from "./problems.ts";
import { indexSecrets, resolveAuth, type SecretIndex } from "./secrets.ts";

/** The kinds this build turns into relay configuration. */
export const servedKinds = [eventWebhookKind, inboundWebhookKind] as const;
export type ServedKind = (typeof servedKinds)[number];

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
  /**
   * By `Kind/namespace/name` (see statusKey), for every resource whose metadata is valid (so that it can
   * exist in a cluster). The kind is part of the key: an EventWebhook and an InboundWebhook may share a name.
   */
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

const ready = (message: string): DesiredCondition => ({ type: "Ready", status: "True", reason: "Ready", message });

function status(condition: DesiredCondition, generation: number | undefined): DesiredStatus {
  if (generation === undefined) return { conditions: [condition] };
  return { observedGeneration: generation, conditions: [{ ...condition, observedGeneration: generation }] };
}

/** The key of a resource's status in BuildResult.statuses, e.g. `EventWebhook/shop/orders`. */
export function statusKey(kind: ServedKind, key: string): string {
  return `${kind}/${key}`;
}

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** What every kind needs checked: the schema, then the Secrets its spec references. */
interface Admission {
  source: Source | undefined;
  about: Pick<Problem, "kind" | "key">;
  namespace: string;
  index: SecretIndex;
  problems: Problem[];
}

type Admitted<T> = { resource: T; auth: ResolvedAuth } | { reason: ConditionReason; lines: string[] };

function admit<T extends { metadata: ObjectMeta; spec: { auth?: AuthSpec | undefined } }>(schema: z.ZodType<T>, object: unknown, at: Admission): Admitted<T> {
  const parsed = parseWith(schema, object);
  if (!parsed.success) {
    const lines: string[] = [];
    for (const issue of parsed.issues) {
      const field = formatPath(issue.path);
      at.problems.push({ reason: "InvalidSpec", message: issue.message, ...locate(at.source, issue.path), ...at.about, field });
      lines.push(`${field}: ${issue.message}`);
    }
    return { reason: "InvalidSpec", lines };
  }
  const { auth, issues } = resolveAuth(parsed.data.spec.auth, at.namespace, at.index);
  if (issues.length > 0) {
    for (const issue of issues) {
      at.problems.push({ reason: issue.reason, message: issue.message, ...locate(at.source, issue.path), ...at.about, field: formatPath(issue.path) });
    }
    // A missing Secret is the more actionable news (and may be the cause of the rest).
    const reason = issues.some((i) => i.reason === "SecretNotFound") ? "SecretNotFound" : "InvalidSecret";
    return { reason, lines: issues.map((i) => `${formatPath(i.path)}: ${i.message}`) };
  }
  return { resource: parsed.data, auth };
}

function inboundConfig({ metadata, spec }: InboundWebhook, namespace: string, auth: ResolvedAuth): InboundWebhookConfig {
  return {
    key: `${namespace}/${metadata.name}`,
    namespace,
    name: metadata.name,
    endpoint: spec.endpoint,
    conditions: spec.conditions.map(({ header, pattern }) => ({ header, pattern })),
    contentType: spec.contentType,
    auth,
    retry: { ...spec.retry },
    timeoutSeconds: spec.timeoutSeconds,
    suspended: spec.suspended,
  };
}

function eventConfig({ metadata, spec }: EventWebhook, namespace: string, auth: ResolvedAuth): EventWebhookConfig {
  return {
    key: `${namespace}/${metadata.name}`,
    namespace,
    name: metadata.name,
    endpoint: spec.endpoint,
    events: { ...spec.events },
    version: spec.version,
    contentType: spec.contentType,
    timeZone: spec.timeZone,
    auth,
    batch: { ...spec.batch },
    retry: { ...spec.retry },
    timeoutSeconds: spec.timeoutSeconds,
  };
}

export function build(resources: readonly SourcedObject[], secrets: readonly SourcedObject[], settings: BuildSettings = {}): BuildResult {
  const defaultNamespace = settings.defaultNamespace ?? "default";
  const { index, problems } = indexSecrets(secrets, defaultNamespace);
  const inbound: InboundWebhookConfig[] = [];
  const event: EventWebhookConfig[] = [];
  const statuses = new Map<string, DesiredStatus>();
  // Names are unique per kind: an EventWebhook may share its name with an InboundWebhook.
  const claims = new Map(servedKinds.map((k) => [k, new FirstClaims(k)]));

  for (const { object, source } of resources) {
    const { apiVersion: version, kind } = (object ?? {}) as { apiVersion?: unknown; kind?: unknown };
    const { key, namespace } = identify(object, defaultNamespace);
    const served = servedKinds.find((k) => k === kind);
    const about = { ...(typeof kind === "string" && { kind }), ...(key !== undefined && { key }) };

    if (version !== apiVersion || served === undefined) {
      const field = served === undefined ? "kind" : "apiVersion";
      const what = field === "kind" ? `unknown ${group} kind ${JSON.stringify(kind)}` : `unsupported version ${JSON.stringify(version)}`;
      problems.push({
        reason: "InvalidManifest",
        message: `${what}; this mailhook serves ${servedKinds.join(" and ")} (${apiVersion})`,
        ...locate(source, [field]),
        ...about,
        field,
      });
      continue;
    }
    const duplicate = key === undefined ? undefined : claims.get(served)?.claim(key, source);
    if (duplicate !== undefined) {
      problems.push(duplicate);
      continue;
    }

    const metadata = parseWith(objectMeta, (object as { metadata?: unknown }).metadata);
    const generation = metadata.success ? metadata.data.generation : undefined;
    // Only an object with valid metadata can exist in a cluster, so only such an object gets a status.
    const setStatus = (s: DesiredStatus) => {
      if (metadata.success && key !== undefined) statuses.set(statusKey(served, key), s);
    };
    const at: Admission = { source, about, namespace, index, problems };

    if (served === inboundWebhookKind) {
      const admitted = admit(inboundWebhook, object, at);
      if ("reason" in admitted) {
        setStatus(notReady(admitted.reason, admitted.lines, generation));
        continue;
      }
      const config = inboundConfig(admitted.resource, namespace, admitted.auth);
      inbound.push(config);
      setStatus(
        config.suspended
          ? notReady("Suspended", ["spec.suspended is true: deliveries are held until it is set to false"], generation)
          : status(ready("the relay serves this webhook"), generation),
      );
    } else {
      const admitted = admit(eventWebhook, object, at);
      if ("reason" in admitted) {
        setStatus(notReady(admitted.reason, admitted.lines, generation));
        continue;
      }
      const config = eventConfig(admitted.resource, namespace, admitted.auth);
      event.push(config);
      const { bounces, deliveries } = config.events;
      const message =
        bounces || deliveries
          ? "the relay serves this webhook"
          : "the relay serves this webhook, but spec.events enables neither deliveries nor bounces: it receives nothing";
      setStatus(status(ready(message), generation));
    }
  }

  const sortedStatuses = new Map([...statuses].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { webhooks: { inbound: inbound.sort(byKey), event: event.sort(byKey) }, statuses: sortedStatuses, problems: problems.sort(compareProblems) };
}
