// core/v1 Secret manifests, validated as the API server does (so `mailhook validate` catches what
// `kubectl apply` would reject) and decoded into the values the webhooks reference.
import { z } from "zod";
import { objectMeta, secretDataKey } from "./common.ts";

/** The API server's limit on a Secret's total data size. */
export const maxSecretBytes = 1024 * 1024;

// Standard base64 with padding, as Go's encoding/json decodes []byte (it skips CR and LF).
const base64Value = z
  .string()
  .refine((v) => {
    const s = v.replace(/[\r\n]/g, "");
    return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
  }, "must be base64 (standard alphabet, padded)");

export const secretManifest = z
  .strictObject({
    apiVersion: z.literal("v1"),
    kind: z.literal("Secret"),
    metadata: objectMeta,
    type: z.string().max(253).optional(),
    immutable: z.boolean().optional(),
    data: z.record(secretDataKey, base64Value).optional(),
    stringData: z.record(secretDataKey, z.string()).optional(),
  })
  .superRefine((secret, ctx) => {
    let total = 0;
    for (const value of secretValues(secret).values()) total += value.byteLength;
    if (total > maxSecretBytes) ctx.addIssue({ code: "custom", path: ["data"], message: `must hold at most ${maxSecretBytes} bytes in total` });
  });
export type SecretManifest = z.output<typeof secretManifest>;

/** The Secret's values by key: `data` decoded, then `stringData` on top (it wins, as on the API server). */
export function secretValues(secret: Pick<SecretManifest, "data" | "stringData">): Map<string, Uint8Array> {
  const values = new Map<string, Uint8Array>();
  for (const [key, value] of Object.entries(secret.data ?? {})) values.set(key, Buffer.from(value, "base64"));
  for (const [key, value] of Object.entries(secret.stringData ?? {})) values.set(key, Buffer.from(value, "utf8"));
  return values;
}
