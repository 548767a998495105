// Responses: per session of an offering, who accepted, is tentative, declined or has not answered
// (declined instructors stand out), and how the answers came in over time.
import { ApiError, api } from "../api.js";
import { field, fill, h, section, status, table, when } from "../dom.js";

const LABELS = { accepted: "Accepted", tentativelyAccepted: "Tentative", declined: "Declined", none: "No answer" };
const ORDER = ["declined", "tentativelyAccepted", "accepted", "none"];
const COLORS = { accepted: "#11632f", tentativelyAccepted: "#b57400", declined: "#a11b1b", none: "#4a5562" };
const INSTRUCTORS = new Set(["instructor", "primaryInstructor"]);
const LIVE = new Set(["live", "pending"]);

async function allResponses(offeringId) {
  const items = [];
  let after = null;
  do {
    const query = new URLSearchParams({ offeringId, limit: "1000" });
    if (after) query.set("after", after);
    const { data } = await api("GET", `responses?${query}`);
    items.push(...((data && data.items) || []));
    after = data && data.next;
  } while (after);
  return items;
}

async function offeringDetail(offeringId) {
  try {
    const { data } = await api("GET", `offerings/${encodeURIComponent(offeringId)}`);
    return data;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null; // answers may outlive the offering
    throw error;
  }
}

// One row per person invited to a session: their answer, or "none" while they have not answered.
export function sessions(detail, answers) {
  const byId = new Map();
  const take = (id, start) => {
    if (!byId.has(id)) byId.set(id, { activityId: id, start, people: new Map() });
    return byId.get(id);
  };
  for (const session of (detail && detail.sessions) || []) {
    const entry = take(session.activityId, session.start);
    for (const held of session.invitations || []) {
      if (!LIVE.has(held.state)) continue;
      entry.people.set(held.address, { email: held.address, role: held.role, response: "none", respondedAt: null });
    }
  }
  for (const answer of answers) {
    const entry = take(answer.activityId, null);
    const known = entry.people.get(answer.email);
    entry.people.set(answer.email, { ...known, ...answer, role: answer.role || (known && known.role) });
  }
  return [...byId.values()].map((entry) => ({
    ...entry,
    people: [...entry.people.values()].sort((a, b) =>
      ORDER.indexOf(a.response) - ORDER.indexOf(b.response) || a.email.localeCompare(b.email)),
  }));
}

function tally(people) {
  const counts = Object.fromEntries(ORDER.map((k) => [k, 0]));
  for (const person of people) counts[person.response in counts ? person.response : "none"] += 1;
  return counts;
}

function answerCell(person) {
  const label = LABELS[person.response] || person.response;
  if (person.response === "declined" && INSTRUCTORS.has(person.role)) {
    return h("strong", { class: "declined-instructor", text: `${label} (instructor)` });
  }
  return h("span", { class: `answer answer-${person.response}`, text: label });
}

function sessionView(session) {
  const counts = tally(session.people);
  const summary = ORDER.map((k) => `${counts[k]} ${LABELS[k].toLowerCase()}`).join(", ");
  const declinedInstructors = session.people.filter((p) => p.response === "declined" && INSTRUCTORS.has(p.role));
  return h("div", { class: "response-session", "data-activity": session.activityId },
    h("h3", { text: `Session ${session.activityId}` + (session.start ? `, starts ${when(session.start)}` : "") }),
    h("p", { class: "response-summary", text: summary }),
    declinedInstructors.length ? status("warn", `An instructor declined this session: ` +
      declinedInstructors.map((p) => p.email).join(", ") + ". The meeting stays as it is until the feed changes.")
      : null,
    table(`Answers for session ${session.activityId}`, [
      ["Person", (p) => p.email], ["Role", (p) => p.role], ["Answer", answerCell],
      ["Answered", (p) => (p.respondedAt ? when(p.respondedAt) : "—")],
    ], session.people, { className: "responses", empty: "Nobody holds this session's meeting." }));
}

function drawChart(canvas, points) {
  if (!window.Chart) return null;
  return new window.Chart(canvas, {
    type: "line",
    data: {
      labels: points.map((p) => when(p.at)),
      datasets: ORDER.map((key) => ({ label: LABELS[key], data: points.map((p) => p[key]), borderColor: COLORS[key],
        backgroundColor: COLORS[key], stepped: true, pointRadius: 2, fill: false })),
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "attendees" } } } },
  });
}

export default async function render(root, { explain }) {
  const input = h("input", { type: "search", name: "offering", placeholder: "offering id" });
  const show = h("button", { type: "submit", class: "primary", text: "Show responses" });
  const out = h("div", { "aria-live": "polite", id: "responses-out" });
  let chart = null;

  async function trend(offeringId, activityId, box) {
    const query = new URLSearchParams({ offeringId });
    if (activityId) query.set("activityId", activityId);
    const { data } = await api("GET", `responses/counts?${query}`);
    const points = (data && data.points) || [];
    if (chart) chart.destroy();
    chart = null;
    if (points.length === 0) {
      fill(box, h("p", { class: "muted", text: "No answer has come in yet." }));
      return;
    }
    const canvas = h("canvas", { id: "responses-chart", role: "img",
      "aria-label": "Attendees per answer over time; the table below lists the same counts" });
    fill(box, h("div", { class: "chart-box" }, canvas),
      table("Counts after each answer (latest ten)", [["At", (p) => when(p.at)],
        ...ORDER.map((k) => [LABELS[k], (p) => String(p[k])])], points.slice(-10), { className: "response-counts" }));
    chart = drawChart(canvas, points);
  }

  async function load(offeringId) {
    fill(out, status("info", "Loading the responses…"));
    try {
      const [detail, answers] = await Promise.all([offeringDetail(offeringId), allResponses(offeringId)]);
      if (!detail && answers.length === 0) {
        fill(out, status("info", `No invitation and no answer is recorded for offering ${offeringId}.`));
        return;
      }
      const list = sessions(detail, answers);
      const choose = h("select", { id: "trend-session" }, h("option", { value: "", text: "All sessions" }),
        list.map((s) => h("option", { value: s.activityId, text: `Session ${s.activityId}` })));
      const box = h("div", { "aria-live": "polite" });
      choose.addEventListener("change", () => trend(offeringId, choose.value, box).catch((e) => fill(box, explain(e))));
      fill(out,
        section(detail && detail.title ? `${detail.title} (${offeringId})` : `Offering ${offeringId}`,
          list.length ? list.map(sessionView) : h("p", { class: "muted", text: "No session has invitations yet." })),
        section("Response counts over time", h("div", { class: "toolbar" }, field("Session", choose)), box));
      await trend(offeringId, "", box);
    } catch (error) {
      fill(out, explain(error));
    }
  }

  const form = h("form", { class: "toolbar", role: "search" }, field("Offering", input,
    "Answers appear once response collection is on and attendees have answered."), show);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = input.value.trim();
    if (!id) return;
    window.history.pushState({}, "", `responses?offering=${encodeURIComponent(id)}`);
    load(id);
  });
  root.append(section("Choose an offering", form), out);
  const chosen = new URLSearchParams(location.search).get("offering");
  if (chosen) {
    input.value = chosen;
    await load(chosen);
  }
}
