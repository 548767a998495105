// Next run: a dry-run preview of what would be sent now, and the mass-cancellation allowance.
import { api } from "../api.js";
import { field, fill, h, section, status } from "../dom.js";
import { planTable, preview, previewSummary } from "./preview.js";

export default async function render(root, { explain }) {
  const out = h("div", { "aria-live": "polite" });
  const go = h("button", { type: "button", class: "primary", text: "Preview the next run" });
  go.addEventListener("click", async () => {
    go.disabled = true;
    fill(out, status("info", "Working out what a run would send now (a dry run: nothing is sent)…"));
    try {
      const result = await preview({}, (job) => {
        fill(out, status("info", `Preview is ${job.state || job.status || "running"}…`));
      });
      fill(out, previewSummary(result));
      if (result.stopped) out.append(status("warn", result.stopped));
      if (result.message) out.append(h("p", { class: "muted", text: result.message }));
      if ((result.plan || []).length) out.append(planTable("What the next run would send", result.plan));
    } catch (error) {
      fill(out, explain(error));
    } finally {
      go.disabled = false;
    }
  });

  const count = h("input", { type: "number", name: "count", min: "1", max: "100000", step: "1", inputmode: "numeric" });
  const understand = h("input", { type: "checkbox", name: "confirm", id: "allowance-confirm" });
  const give = h("button", { type: "submit", class: "danger", text: "Allow these cancellations once" });
  const allowanceOut = h("div", { "aria-live": "polite" });
  const form = h("form", { novalidate: true },
    field("Cancellations to allow", count, "The guard stops a run that would cancel many invitations at once. " +
      "An allowance lets the next run send up to this many cancellations; it is used once and expires after 24 hours."),
    h("label", { class: "check" }, understand,
      "I have checked the preview: these attendees will receive cancellations and this cannot be undone."),
    h("div", { class: "actions" }, give), allowanceOut);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = Number.parseInt(count.value, 10);
    if (!Number.isInteger(value) || value < 1) {
      fill(allowanceOut, status("error", "Enter how many cancellations to allow (a whole number, 1 or more)."));
      count.focus();
      return;
    }
    if (!understand.checked) {
      fill(allowanceOut, status("error", "Tick the confirmation first."));
      understand.focus();
      return;
    }
    give.disabled = true;
    try {
      const { data } = await api("POST", "allowance", { count: value, confirm: true });
      fill(allowanceOut, status("ok", (data && data.message) || `The next run may send up to ${value} cancellations.`));
    } catch (error) {
      fill(allowanceOut, explain(error));
    } finally {
      give.disabled = false;
    }
  });

  root.append(section("Preview", h("p", { class: "muted", text: "Shows every invitation, update and cancellation " +
    "a run would send now. It runs as a job; large catalogs take a while." }), h("div", { class: "actions" }, go), out),
  section("Mass-cancellation allowance", form));
}
