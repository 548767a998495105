// Feed: check an upload (rejections and what it would send) before storing it, and the feed history.
import { api } from "../api.js";
import { clear, field, fill, h, section, status, table, when } from "../dom.js";

const typeOf = (file) => (file.name.toLowerCase().endsWith(".csv") ? "text/csv" : "application/json");

// PUT /api/feed?dryRun=true answers {blob, size, format, preview: {offerings, rejectedCount, rejections,
// created, updated, cancelled, unchanged, message}, refusal}; nothing is stored.
function checkResult(data) {
  const preview = data.preview || data;
  const rejected = preview.rejections || preview.rejected || [];
  const count = preview.rejectedCount ?? rejected.length;
  const parts = [];
  if (data.refusal) parts.push(status("error", data.refusal.message));
  parts.push(status(count ? "warn" : "ok", count
    ? `${count} item(s) would be rejected; the rest can be stored.` : "The feed passed the check."));
  const facts = [
    ["Format", data.format], ["Size", data.size !== undefined ? `${data.size} bytes` : undefined],
    ["Offerings", Array.isArray(preview.offerings) ? preview.offerings.length : preview.offerings],
    ["A run would invite", preview.created], ["update", preview.updated], ["cancel", preview.cancelled],
    ["leave unchanged", preview.unchanged],
  ].filter(([, v]) => v !== undefined && v !== null);
  parts.push(h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: String(v) })])));
  if (preview.message) parts.push(h("p", { class: "muted", text: preview.message }));
  parts.push(table("Rejected items: where in the feed and why", [["Feed path", (r) => r.path], ["Reason", (r) => r.reason]],
    rejected, { empty: "No item was rejected." }));
  return h("div", { id: "feed-check" }, parts);
}

export default async function render(root, { explain }) {
  const file = h("input", { type: "file", name: "feed", accept: ".json,.csv,application/json,text/csv" });
  const check = h("button", { type: "submit", class: "primary", text: "Check the feed" });
  const store = h("button", { type: "button", text: "Store this feed", disabled: true });
  const force = h("input", { type: "checkbox", name: "force", id: "feed-force" });
  const out = h("div", { "aria-live": "polite" });
  const historyBox = h("div");

  async function send(dryRun) {
    const chosen = file.files && file.files[0];
    if (!chosen) {
      fill(out, status("error", "Choose a JSON or CSV feed file first."));
      file.focus();
      return null;
    }
    const query = new URLSearchParams();
    query.set("name", chosen.name);
    if (dryRun) query.set("dryRun", "true");
    if (!dryRun && force.checked) query.set("force", "true");
    const { data } = await api("PUT", `feed?${query}`, chosen, { contentType: typeOf(chosen) });
    return data || {};
  }

  const form = h("form", { novalidate: true },
    field("Feed file (JSON or CSV)", file, "Checked first: nothing is stored until you press Store."),
    h("div", { class: "actions" }, check, store),
    h("label", { class: "check" }, force, "Store even though the check found problems (recorded in the audit trail)"),
    out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    check.disabled = true;
    fill(out, status("info", "Checking…"));
    try {
      const data = await send(true);
      if (data) {
        fill(out, checkResult(data));
        store.disabled = false;
      }
    } catch (error) {
      fill(out, explain(error));
      if (error.fieldErrors && error.fieldErrors.length) {
        out.append(table("What the check found", [["Where", (e) => e.field || e.path], ["Problem", (e) => e.message || e.reason]],
          error.fieldErrors));
      }
    } finally {
      check.disabled = false;
    }
  });
  file.addEventListener("change", () => { store.disabled = true; clear(out); });
  store.addEventListener("click", async () => {
    store.disabled = true;
    try {
      const data = await send(false);
      if (data) fill(out, status("ok", data.message || "Stored. The next run uses it."));
      await loadHistory();
    } catch (error) {
      fill(out, explain(error));
    }
  });

  async function loadHistory() {
    try {
      const { data } = await api("GET", "feeds");
      const items = Array.isArray(data) ? data : (data && (data.value || data.feeds)) || [];
      fill(historyBox, table("Feeds received, newest first", [
        ["Feed", (f) => (f.container ? `${f.container}/${f.name}` : f.name)],
        ["Received", (f) => when(f.lastModified || f.updatedAt)], ["Format", (f) => f.format],
        ["Size", (f) => f.size], ["Status", (f) => f.status], ["Why", (f) => f.reason || ""],
      ], items, { empty: "No feed received yet." }));
    } catch (error) {
      fill(historyBox, explain(error));
    }
  }

  root.append(section("Upload a feed", form), section("History", historyBox));
  await loadHistory();
}
