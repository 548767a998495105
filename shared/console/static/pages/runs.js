// Runs: the history (table and chart against the sending budget), run now, and one run's detail.
import { api, follow, runEnded } from "../api.js";
import { fill, h, section, status, table, text, when } from "../dom.js";

const size = (value) => (Array.isArray(value) ? value.length : Number(value) || 0);

export function counts(run) {
  const sent = run.sent !== undefined && run.sent !== null ? Number(run.sent)
    : size(run.created) + size(run.updated) + size(run.cancelled) + size(run.recreated);
  return { sent, deferred: size(run.deferred), rejected: size(run.rejected), failed: size(run.errors) };
}

const stateOf = (run) => run.state || run.status || "—";

function perDay(runs) {
  const days = new Map();
  for (const run of runs) {
    const day = String(run.startedAt || "").slice(0, 10);
    const total = days.get(day) || { sent: 0, deferred: 0, rejected: 0, failed: 0 };
    const c = counts(run);
    for (const key of Object.keys(total)) total[key] += c[key];
    days.set(day, total);
  }
  return [...days.entries()].sort(([a], [b]) => a.localeCompare(b));
}

const COLORS = { sent: "#0b5cad", deferred: "#b57400", rejected: "#7a3db8", failed: "#a11b1b" };

function drawChart(canvas, runs, mode, budget) {
  if (!window.Chart) return null;
  const ordered = [...runs].reverse();
  const points = mode === "day" ? perDay(runs) : ordered.map((r) => [`${when(r.startedAt)}`, counts(r)]);
  const datasets = Object.keys(COLORS).map((key) => ({
    type: "bar", label: key, data: points.map(([, c]) => c[key]), backgroundColor: COLORS[key], stack: "runs",
  }));
  if (budget && budget.perDay && mode === "day") {
    const limit = budget.perDay * (budget.organizers || 1);
    datasets.push({ type: "line", label: "sending budget per day (all organizer mailboxes)",
      data: points.map(() => limit), borderColor: "#1b1f24", borderDash: [6, 4], pointRadius: 0, fill: false });
  }
  return new window.Chart(canvas, {
    data: { labels: points.map(([label]) => label), datasets },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "messages" } } } },
  });
}

function runDetail(run) {
  const c = counts(run);
  const rows = [
    ["Run", run.runId], ["State", stateOf(run)], ["Started", when(run.startedAt)], ["Ended", when(run.endedAt)],
    ["Started by", run.startedBy || run.givenBy || "—"], ["Via", run.via || "—"],
    ["Follow-up of", run.followUpOf || "—"], ["Dry run", run.dryRun ? "yes" : "no"],
    ["Organizer", run.organizer], ["Sent", `${c.sent} (created ${size(run.created)}, updated ${size(run.updated)}, ` +
      `cancelled ${size(run.cancelled)}, sent anew ${size(run.recreated)})`],
    ["Deferred to the next run", c.deferred], ["Left to send", run.left ?? "—"], ["Held", run.held ?? 0],
    ["Message", run.message || run.skipped || "—"],
  ];
  return h("div", { id: "run-detail" },
    h("h2", { text: `Run ${run.runId}` }),
    h("dl", { class: "facts" }, rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: text(v) })])),
    h("h3", { text: "Rejected from the feed" }),
    table("Rejections: where in the feed and why", [["Feed path", (r) => r.path], ["Reason", (r) => r.reason]],
      run.rejected || [], { empty: "No feed item was rejected." }),
    h("h3", { text: "Errors" }),
    table("Errors while sending", [["Offering", (e) => e.offering || e.tag || ""], ["Person", (e) => e.person || e.email || ""],
      ["Error", (e) => e.message || e.error || text(e)]], run.errors || [], { empty: "No errors." }));
}

export default async function render(root, { explain }) {
  const params = new URLSearchParams(location.search);
  const detail = h("div", { "aria-live": "polite" });
  const runOut = h("div", { "aria-live": "polite" });

  async function showRun(id) {
    fill(detail, status("info", "Loading the run…"));
    try {
      const { data } = await api("GET", `runs/${encodeURIComponent(id)}`);
      fill(detail, runDetail(data));
    } catch (error) {
      const found = history.find((r) => r.runId === id);
      fill(detail, found ? runDetail(found) : explain(error));
    }
  }

  const runNow = h("button", { type: "button", class: "primary", text: "Run now" });
  runNow.addEventListener("click", async () => {
    runNow.disabled = true;
    fill(runOut, status("info", "Starting a run…"));
    try {
      const { status: code, data } = await api("POST", "sync", {});
      let run = data;
      if (code === 202 && data.runId) {
        run = await follow(`runs/${encodeURIComponent(data.runId)}`, runEnded, (progress) => {
          const c = counts(progress);
          fill(runOut, status("info", `Run ${data.runId}: ${stateOf(progress)}, ${c.sent} sent` +
            `${progress.left !== undefined ? `, ${progress.left} left` : ""}…`));
        }, { interval: 700 });
      }
      const ok = stateOf(run) === "completed" && !size(run.errors);
      fill(runOut, status(ok ? "ok" : "warn", `Run ${run.runId} ${stateOf(run)}: ${counts(run).sent} sent, ` +
        `${counts(run).deferred} deferred, ${counts(run).rejected} rejected, ${counts(run).failed} failed.`));
      fill(detail, runDetail(run));
      await reload();
    } catch (error) {
      fill(runOut, explain(error));
    } finally {
      runNow.disabled = false;
    }
  });

  let history = [];
  let budget = null;
  let chart = null;
  let mode = "run";
  const canvas = h("canvas", { role: "img", "aria-label": "Sent, deferred, rejected and failed messages per run" });
  const listBox = h("div");
  const modeSelect = h("select", { id: "chart-mode" }, h("option", { value: "run", text: "per run" }),
    h("option", { value: "day", text: "per day" }));
  modeSelect.addEventListener("change", () => { mode = modeSelect.value; redraw(); });

  function redraw() {
    if (chart) chart.destroy();
    canvas.setAttribute("aria-label", `Sent, deferred, rejected and failed messages ${mode === "day" ? "per day" : "per run"}`);
    chart = drawChart(canvas, history, mode, budget);
  }

  async function reload() {
    const { data } = await api("GET", "runs?limit=50");
    history = data.value || [];
    budget = data.budget || null;
    fill(listBox, table("Recent runs, newest first", [
      ["Started", (r) => h("a", { href: `runs?run=${encodeURIComponent(r.runId)}`, class: "run-link",
        "data-run": r.runId, text: when(r.startedAt) })],
      ["State", stateOf], ["Started by", (r) => r.startedBy || r.via || "—"],
      ["Sent", (r) => counts(r).sent], ["Deferred", (r) => counts(r).deferred],
      ["Rejected", (r) => counts(r).rejected], ["Failed", (r) => counts(r).failed],
      ["Message", (r) => r.message || r.skipped || ""],
    ], history, { empty: "No run yet. Press Run now, or wait for the hourly timer.", className: "runs" }));
    redraw();
  }

  listBox.addEventListener("click", (event) => {
    const link = event.target.closest("a.run-link");
    if (!link) return;
    event.preventDefault();
    window.history.pushState({}, "", `runs?run=${encodeURIComponent(link.dataset.run)}`);
    showRun(link.dataset.run).then(() => detail.focus());
  });
  detail.tabIndex = -1;

  root.append(
    section("Run now", h("p", { class: "muted", text: "Starts a run like the hourly timer's; the page follows it to its end." }),
      h("div", { class: "actions" }, runNow), runOut),
    section("History", h("div", { class: "toolbar" }, h("label", { for: "chart-mode", text: "Chart" }), modeSelect),
      h("div", { class: "chart-box" }, canvas),
      listBox),
    section("Run detail", detail));
  await reload();
  if (budget) {
    listBox.before(h("p", { class: "muted", id: "budget", text: `Sending budget: ${budget.perDay} recipients a day and ` +
      `${budget.perMinute} messages a minute for each of ${budget.organizers || 1} organizer mailbox(es). ` +
      "Choose \u201cper day\u201d to see each day against it; what does not fit is deferred to the next run." }));
  }
  const chosen = params.get("run") || (history[0] && history[0].runId);
  if (chosen) await showRun(chosen);
  else detail.append(h("p", { class: "muted", text: "Choose a run in the table." }));
}
