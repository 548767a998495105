// The roll-out control (Templates and Provider pages): the count of update messages first (a dry
// run), then the confirmation that marks the offerings and starts a run paced like any other.
import { api } from "./api.js";
import { fill, h, status } from "./dom.js";

export function rolloutControl(explain) {
  const countButton = h("button", { type: "button", text: "Count the updates", id: "rollout-count" });
  const confirm = h("button", { type: "button", class: "primary", text: "Roll out", disabled: true,
    id: "rollout-confirm" });
  const out = h("div", { "aria-live": "polite", id: "rollout-out" });
  countButton.addEventListener("click", async () => {
    countButton.disabled = true;
    confirm.disabled = true;
    fill(out, status("info", "Counting what a roll-out would send…"));
    try {
      const { data } = await api("POST", "rollout", { dryRun: true });
      fill(out, status(data.updates ? "warn" : "ok", data.message || `${data.updates} updates`));
      if (data.updates) {
        confirm.textContent = `Roll out: send ${data.updates} update${data.updates === 1 ? "" : "s"}`;
        confirm.disabled = false;
        confirm.focus();
      }
    } catch (error) {
      fill(out, explain(error));
    } finally {
      countButton.disabled = false;
    }
  });
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    try {
      const { data } = await api("POST", "rollout", { dryRun: false });
      fill(out, status("ok", data.message || "Rolling out."), data.runId
        ? h("a", { href: `runs?run=${encodeURIComponent(data.runId)}`, text: "See the run" }) : null);
    } catch (error) {
      fill(out, explain(error));
    }
  });
  return h("div", { class: "rollout", id: "rollout" }, h("div", { class: "actions" }, countButton, confirm), out);
}
