// `mailhook validate PATH...`: checks manifests offline, exactly as the cluster and the operator would.
// Exit 0 when everything is valid, 1 with one line per problem on stderr, 2 on wrong usage.
import { formatProblem } from "./desired/problems.ts";
import { validateFiles } from "./validate.ts";

export interface CommandOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export async function runValidate(paths: readonly string[], out: CommandOutput): Promise<number> {
  if (paths.length === 0) {
    out.stderr.write("usage: mailhook validate PATH...  (files or folders of *.yaml / *.yml manifests)\n");
    return 2;
  }
  const { manifests, result, problems } = await validateFiles(paths);
  for (const problem of problems) out.stderr.write(`${formatProblem(problem)}\n`);

  const checked = [
    plural(manifests.resources.length, "mailhook resource"),
    plural(manifests.secrets.length, "Secret"),
    plural(manifests.ignored.length, "other object") + " ignored",
  ].join(", ");
  const summary = `${plural(manifests.files.length, "file")}: ${checked}; ${plural(result.webhooks.inbound.length, "valid InboundWebhook")}, ${plural(result.webhooks.event.length, "valid EventWebhook")}`;
  if (problems.length > 0) {
    out.stderr.write(`${summary}; ${plural(problems.length, "problem")}\n`);
    return 1;
  }
  out.stdout.write(`${summary}; no problems\n`);
  return 0;
}
