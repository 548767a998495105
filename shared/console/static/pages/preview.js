// A dry run's plan as a table: what a run would send now, without sending anything.
import { runJob } from "../api.js";
import { status, table } from "../dom.js";

const WORDS = { create: "Invite", update: "Update", cancel: "Cancel", recreate: "Send anew" };

// Runs the preview as a job the page follows (a dry run over a large catalog can take minutes).
export async function preview(request, onProgress) {
  const job = await runJob({ kind: "preview", ...request }, onProgress,
    { method: "POST", route: "sync", body: { dryRun: true } });
  if ((job.state || job.status) === "failed") throw new Error(job.error || job.message || "The preview could not finish.");
  return job.result || job;
}

export function planTable(caption, plan) {
  return table(caption, [
    ["Action", (a) => WORDS[a.action] || a.action],
    ["Offering", (a) => a.offering],
    ["Session", (a) => a.activity],
    ["Person", (a) => a.person],
    ["Changes", (a) => (a.changed ? a.changed.join(", ") : a.comment || "")],
  ], plan, { empty: "Nothing would be sent.", className: "plan" });
}

export function previewSummary(result) {
  const plan = result.plan || [];
  const count = (kind) => plan.filter((a) => a.action === kind).length;
  return status(plan.length ? "info" : "ok", plan.length
    ? `${plan.length} message(s) would be sent: ${count("create")} invitation(s), ${count("update")} update(s), ` +
      `${count("cancel")} cancellation(s).` : "Nothing would be sent now.");
}

