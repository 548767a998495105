// Offerings: search, sessions and who holds which meeting (read only), Reconcile with a preview.
import { api, follow, runEnded } from "../api.js";
import { field, fill, h, section, status, table, when } from "../dom.js";
import { planTable } from "./preview.js";

function list(data) {
  if (Array.isArray(data)) return data;
  return (data && (data.value || data.offerings)) || [];
}

const idOf = (o) => o.offeringId || o.id;

function detailView(offering) {
  const facts = [
    ["Offering", idOf(offering)], ["Title", offering.title], ["Organizer", offering.organizer || "—"],
    ["Live invitations", offering.liveInvitations ?? offering.live], ["Last change", when(offering.lastChange)],
    ["Last seen in the feed", when(offering.lastSeen)],
    ["Reconcile requested", offering.reconcileRequestedAt ? when(offering.reconcileRequestedAt) : "no"],
  ];
  const sessions = offering.sessions || [];
  return h("div", {},
    h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: String(v ?? "—") })])),
    h("p", {}, h("a", { href: `responses?offering=${encodeURIComponent(idOf(offering))}`, class: "responses-link",
      text: "Who accepted, declined or has not answered" })),
    h("h3", { text: "Sessions and who holds which meeting" }),
    sessions.length === 0 ? h("p", { class: "muted", text: "No meeting has been sent for this offering yet." }) : null,
    sessions.map((session) => table(`Session ${session.activityId}, starts ${when(session.start)}`, [
      ["Person", (i) => i.address], ["Role", (i) => i.role], ["State", (i) => i.state],
      ["Organizer", (i) => i.organizer], ["Meeting id", (i) => i.eventId],
    ], session.invitations || [], { className: "holders", empty: "Nobody holds this session's meeting." })));
}

export default async function render(root, { explain }) {
  const search = h("input", { type: "search", name: "search", placeholder: "id or title" });
  const find = h("button", { type: "submit", class: "primary", text: "Search" });
  const results = h("div", { "aria-live": "polite" });
  const detail = h("div", { "aria-live": "polite", tabindex: "-1", id: "offering-detail" });

  async function open(id) {
    fill(detail, status("info", "Loading the offering…"));
    try {
      const { data } = await api("GET", `offerings/${encodeURIComponent(id)}`);
      fill(detail, h("h2", { text: data.title || id }), detailView(data), reconcileBox(id));
    } catch (error) {
      fill(detail, explain(error));
    }
  }

  function reconcileBox(id) {
    const out = h("div", { "aria-live": "polite" });
    const previewButton = h("button", { type: "button", text: "Preview reconcile" });
    const confirm = h("button", { type: "button", class: "primary", text: "Reconcile and send now", disabled: true });
    previewButton.addEventListener("click", async () => {
      previewButton.disabled = true;
      fill(out, status("info", "Working out what a reconcile would send…"));
      try {
        const { data } = await api("POST", `offerings/${encodeURIComponent(id)}/reconcile?preview=true`);
        const plan = data.sends || [];
        fill(out, status("info", plan.length ? `${plan.length} message(s) would be sent for this offering.`
          : "Nothing differs from the feed: a reconcile would send nothing now."),
        data.message ? h("p", { class: "muted", text: data.message }) : null,
        planTable("What the reconcile would send", plan));
        confirm.disabled = false;
        confirm.focus();
      } catch (error) {
        fill(out, explain(error));
      } finally {
        previewButton.disabled = false;
      }
    });
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      try {
        await api("POST", `offerings/${encodeURIComponent(id)}/reconcile`);
        fill(out, status("info", "Marked for reconcile; running now…"));
        const { status: code, data } = await api("POST", "sync", {});
        const run = code === 202 && data.runId
          ? await follow(`runs/${encodeURIComponent(data.runId)}`, runEnded, null, { interval: 700 }) : data;
        fill(out, status(run.status === "completed" || run.state === "completed" ? "ok" : "warn",
          `Reconciled: run ${run.runId} ${run.state || run.status}. `,
          h("a", { href: `runs?run=${encodeURIComponent(run.runId)}`, text: "See the run" })));
      } catch (error) {
        fill(out, explain(error));
      }
    });
    return section("Reconcile", h("p", { class: "muted", text: "Reconcile re-sends every difference between the feed " +
      "and the attendees' calendars for this offering. Preview first, then confirm." }),
    h("div", { class: "actions" }, previewButton, confirm), out);
  }

  async function load() {
    fill(results, status("info", "Searching…"));
    try {
      const query = search.value.trim();
      const { data } = await api("GET", `offerings${query ? `?search=${encodeURIComponent(query)}` : ""}`);
      const items = list(data);
      const more = data && data.pages > 1 ? h("p", { class: "muted", text: `Showing ${items.length} of ${data.total}: ` +
        "narrow the search to find others." }) : null;
      fill(results, table("Offerings", [
        ["Offering", (o) => h("a", { href: `offerings?id=${encodeURIComponent(idOf(o))}`, class: "offering-link",
          "data-id": idOf(o), text: idOf(o) })],
        ["Title", (o) => o.title], ["Sessions", (o) => o.sessions], ["Live invitations", (o) => o.liveInvitations],
        ["Last change", (o) => when(o.lastChange || o.lastSeen)],
        ["Reconcile requested", (o) => (o.reconcileRequestedAt ? when(o.reconcileRequestedAt) : "")],
      ], items, { empty: "No offering matches.", className: "offerings" }), more);
    } catch (error) {
      fill(results, explain(error));
    }
  }

  results.addEventListener("click", (event) => {
    const link = event.target.closest("a.offering-link");
    if (!link) return;
    event.preventDefault();
    window.history.pushState({}, "", `offerings?id=${encodeURIComponent(link.dataset.id)}`);
    open(link.dataset.id).then(() => detail.focus());
  });

  const form = h("form", { class: "toolbar", role: "search" }, field("Search offerings", search), find);
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  root.append(section("Find an offering", form, results), detail);
  await load();
  const chosen = new URLSearchParams(location.search).get("id");
  if (chosen) await open(chosen);
}
