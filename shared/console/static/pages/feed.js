// Feed: check an upload (rejections and what it would send) before storing it, and the feed history.
import { api } from "../api.js";
import { clear, field, h, objectsTable, section, status, table, when } from "../dom.js";
import { planTable } from "./preview.js";

const typeOf = (file) => (file.name.toLowerCase().endsWith(".csv") ? "text/csv" : "application/json");

function checkResult(data) {
  const rejected = data.rejected || data.rejections || [];
  const parts = [status(rejected.length ? "warn" : "ok", rejected.length
    ? `${rejected.length} item(s) would be rejected; the rest can be stored.` : "The feed passed the check.")];
  if (data.offerings !== undefined) parts.push(h("p", { text: `Offerings: ${Array.isArray(data.offerings) ? data.offerings.length : data.offerings}` }));
  parts.push(table("Rejected items: where in the feed and why", [["Feed path", (r) => r.path], ["Reason", (r) => r.reason]],
    rejected, { empty: "No item was rejected." }));
  if (data.plan) parts.push(planTable("What a run would send with this feed", data.plan));
  for (const warning of data.warnings || []) parts.push(status("warn", String(warning.message || warning)));
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
      clear(out).append(status("error", "Choose a JSON or CSV feed file first."));
      file.focus();
      return null;
    }
    const query = new URLSearchParams();
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
    clear(out).append(status("info", "Checking…"));
    try {
      const data = await send(true);
      if (data) {
        clear(out).append(checkResult(data));
        store.disabled = false;
      }
    } catch (error) {
      clear(out).append(explain(error));
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
      if (data) clear(out).append(status("ok", data.message || "Stored. The next run uses it."));
      await loadHistory();
    } catch (error) {
      clear(out).append(explain(error));
    }
  });

  async function loadHistory() {
    try {
      const { data } = await api("GET", "feeds");
      const items = Array.isArray(data) ? data : (data && (data.value || data.feeds)) || [];
      clear(historyBox).append(objectsTable("Feeds received, newest first", items.map((item) => ({
        ...item, ...(item.receivedAt ? { receivedAt: when(item.receivedAt) } : {}) })),
      ["name", "receivedAt", "source", "by", "offerings", "rejected", "status"], { empty: "No feed received yet." }));
    } catch (error) {
      clear(historyBox).append(explain(error));
    }
  }

  root.append(section("Upload a feed", form), section("History", historyBox));
  await loadHistory();
}
