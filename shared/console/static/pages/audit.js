// Audit trail: who changed what, and when (never a secret).
import { api } from "../api.js";
import { h, section, table, when } from "../dom.js";

const changes = (value) => (value && typeof value === "object" ? JSON.stringify(value) : value || "");

export default async function render(root) {
  const { data } = await api("GET", "audit?limit=100");
  const items = Array.isArray(data) ? data : (data && data.value) || [];
  root.append(section("Changes, newest first", table("Audit trail", [
    ["When", (e) => when(e.at || e.when || e.timestamp)], ["Who", (e) => e.actor], ["What", (e) => e.action],
    ["Target", (e) => e.target], ["Changes", (e) => changes(e.changes)],
  ], items, { empty: "Nothing recorded yet." })));
}
