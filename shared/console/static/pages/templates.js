// Templates: pick a role and language, edit the subject and body, preview them for a real offering, save
// (problems come back with line and fix), see the versions; roll the templates out with the count first.
// The rendered body is shown in a frame with sandbox="" (no script, no same-origin access) via srcdoc.
import { api, ApiError } from "../api.js";
import { field, fill, h, section, status, table, when } from "../dom.js";
import { rolloutControl } from "../rollout.js";

const ROLE_NAMES = { learner: "Learner", primaryInstructor: "Primary instructor", instructor: "Other instructor" };
const PREVIEW_DELAY = 600; // ms after the last keystroke

function problemsList(problems, id = "template-problems") {
  if (!problems || problems.length === 0) return null;
  return h("ul", { class: "problems", id }, problems.map((p) => h("li", {},
    h("strong", { text: `${p.field}${p.line ? ` line ${p.line}` : ""}: ` }), String(p.message || ""),
    p.fix ? h("span", { class: "detail", text: `Fix: ${p.fix}` }) : null)));
}

function problemsOf(error) {
  if (!(error instanceof ApiError)) return [];
  const found = error.problem.problems || error.fieldErrors;
  return Array.isArray(found) ? found : [];
}

// The phrases of one language: the text in force per key, stored or built-in; a save sends only the
// changed keys (null: back to the built-in text), and a refusal names the key, the line and the fix.
function phrasesEditor(initialLanguage, explain, saved) {
  const language = h("input", { type: "text", name: "phrasesLanguage", id: "phrases-language",
    list: "template-languages", value: initialLanguage, autocomplete: "off", spellcheck: "false" });
  const openButton = h("button", { type: "button", text: "Open phrases", id: "phrases-open" });
  const state = h("div", { "aria-live": "polite", id: "phrases-state" });
  const rows = h("div", { id: "phrases-rows" });
  const saveButton = h("button", { type: "submit", class: "primary", text: "Save the phrases", disabled: true });
  const out = h("div", { "aria-live": "polite", id: "phrases-save" });
  let loaded = null; // the GET answer the editor shows: {language, phrases, own, keys, placeholders, ...}
  const inputs = new Map();
  const resets = new Map();

  function show(view) {
    loaded = view;
    inputs.clear();
    resets.clear();
    const own = view.own || {};
    const keys = view.keys || Object.keys(view.phrases || {});
    fill(state, status("info", view.version ? `${view.language}: version ${view.version}, saved ` +
      `${when(view.updatedAt)} by ${view.updatedBy || "—"}.` : `${view.language}: the built-in phrases (version 0).`));
    fill(rows, table(`Phrases in ${view.language}`, [
      ["Phrase", (key) => h("code", { text: key })],
      ["Text in force", (key) => {
        const input = h("input", { type: "text", name: `phrase-${key}`, class: "phrase", "aria-label": `Phrase ${key}`,
          spellcheck: "true", "data-key": key });
        input.value = (view.phrases || {})[key] || "";
        inputs.set(key, input);
        return input;
      }],
      ["Source", (key) => (key in own ? "stored" : "built-in")],
      ["Placeholders", (key) => ((view.placeholders || {})[key] || []).map((n) => `{{ ${n} }}`).join(", ") || "none"],
      ["", (key) => {
        if (!(key in own)) return "";
        const box = h("input", { type: "checkbox", "aria-label": `Back to built-in: ${key}` });
        resets.set(key, box);
        return h("label", { class: "check" }, box, "Back to built-in");
      }],
    ], keys, { className: "phrases" }));
    saveButton.disabled = false;
  }

  async function open() {
    const tag = language.value.trim();
    fill(out);
    fill(state, status("info", "Loading…"));
    try {
      const { data } = await api("GET", `templates/phrases/${encodeURIComponent(tag)}`);
      show(data);
    } catch (error) {
      loaded = null;
      saveButton.disabled = true;
      fill(rows);
      fill(state, explain(error));
    }
  }

  function markInvalid(problems) {
    for (const input of inputs.values()) input.removeAttribute("aria-invalid");
    for (const p of problems) {
      const input = inputs.get(String(p.field || "").replace(/^phrases\./, ""));
      if (input) input.setAttribute("aria-invalid", "true");
    }
  }

  const form = h("form", { class: "phrases-form", novalidate: true },
    h("div", { class: "toolbar" }, field("Language of the phrases (BCP 47)", language), openButton),
    state, rows, h("div", { class: "actions" }, saveButton), out);
  openButton.addEventListener("click", () => open());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!loaded) return;
    const changes = {};
    for (const [key, input] of inputs) {
      if (resets.get(key)?.checked) changes[key] = null;
      else if (input.value !== ((loaded.phrases || {})[key] || "")) changes[key] = input.value;
    }
    if (!Object.keys(changes).length) {
      fill(out, status("info", "Nothing changed: edit a text or tick \"Back to built-in\" first."));
      return;
    }
    saveButton.disabled = true;
    fill(out, status("info", "Saving…"));
    try {
      const { data } = await api("PUT", `templates/phrases/${encodeURIComponent(loaded.language)}`,
        { phrases: changes });
      show(data);
      fill(out, status("ok", data.message || `Saved as version ${data.version}.`));
      await saved();
    } catch (error) {
      const problems = problemsOf(error);
      markInvalid(problems);
      fill(out, problems.length ? status("error", "Not saved: fix these and save again.") : explain(error),
        problemsList(problems, "phrases-problems"));
    } finally {
      saveButton.disabled = !loaded;
    }
  });
  open();
  return form;
}

export default async function render(root, { explain }) {
  const { data: listing } = await api("GET", "templates");
  const roles = listing.roles || Object.keys(ROLE_NAMES);
  const languages = listing.languages || ["en"];

  const listBox = h("div");
  function showList(data) {
    fill(listBox, h("p", { class: "muted", text: `Default language ${data.defaultLanguage}; template set version ` +
      `${data.version}.` }), table("Templates in force", [
      ["Language", (t) => t.language], ["Role", (t) => ROLE_NAMES[t.role] || t.role],
      ["Version", (t) => (t.version ? String(t.version) : "built in")],
      ["Saved", (t) => (t.updatedAt ? `${when(t.updatedAt)} by ${t.updatedBy || "—"}` : "")],
    ], data.value || [], { className: "templates" }));
  }
  showList(listing);

  const role = h("select", { name: "role", id: "template-role" },
    roles.map((r) => h("option", { value: r, text: ROLE_NAMES[r] || r })));
  const language = h("input", { type: "text", name: "language", id: "template-language", list: "template-languages",
    value: listing.defaultLanguage || languages[0], autocomplete: "off", spellcheck: "false" });
  const known = h("datalist", { id: "template-languages" }, languages.map((l) => h("option", { value: l })));
  const load = h("button", { type: "button", text: "Open" });
  const subject = h("input", { type: "text", name: "subject", id: "template-subject", spellcheck: "false" });
  const body = h("textarea", { name: "body", id: "template-body", rows: 18, spellcheck: "false", class: "code" });
  const offering = h("input", { type: "text", name: "offeringId", id: "template-offering", spellcheck: "false",
    placeholder: "the feed's first offering" });
  const save = h("button", { type: "submit", class: "primary", text: "Save as a new version" });
  const previewButton = h("button", { type: "button", text: "Preview", id: "template-preview-button" });
  const editorState = h("div", { "aria-live": "polite", id: "template-state" });
  const saveOut = h("div", { "aria-live": "polite", id: "template-save" });
  const previewOut = h("div", { "aria-live": "polite", id: "template-preview" });
  const versionsBox = h("div", { id: "template-versions" });

  async function open(version) {
    const path = `templates/${encodeURIComponent(role.value)}/${encodeURIComponent(language.value.trim())}`;
    fill(editorState, status("info", "Loading…"));
    try {
      const { data } = await api("GET", version === undefined ? path : `${path}?version=${version}`);
      subject.value = data.subject || "";
      body.value = data.body || "";
      fill(editorState, status("info", data.version ? `Version ${data.version}, saved ${when(data.updatedAt)} by ` +
        `${data.updatedBy || "—"}.` : "The built-in text (version 0)."));
      fill(versionsBox, table("Versions, newest first", [
        ["Version", (v) => (v.version ? String(v.version) : "built in")],
        ["Saved", (v) => (v.updatedAt ? when(v.updatedAt) : "")], ["By", (v) => v.updatedBy || ""],
        ["", (v) => h("button", { type: "button", class: "load-version", "data-version": String(v.version),
          text: "Load into the editor" })],
      ], data.versions || []));
      schedulePreview(0);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        fill(editorState, status("info", `No ${role.value} template in ${language.value} yet: write one and save ` +
          "it to add the language."));
        fill(versionsBox);
      } else {
        fill(editorState, explain(error));
      }
    }
  }

  versionsBox.addEventListener("click", (event) => {
    const button = event.target.closest("button.load-version");
    if (button) open(Number(button.dataset.version));
  });

  let timer = null;
  let asked = 0;
  async function preview() {
    const mine = ++asked;
    const request = { role: role.value, language: language.value.trim(), subject: subject.value, body: body.value };
    if (offering.value.trim()) request.offeringId = offering.value.trim();
    try {
      const { data } = await api("POST", "templates/preview", request);
      if (mine !== asked) return; // a newer preview is on its way
      if (data.problems && data.problems.length) {
        fill(previewOut, status("warn", "The template has problems; the preview shows once they are fixed."),
          problemsList(data.problems));
        return;
      }
      const frame = h("iframe", { sandbox: "", title: "Rendered body", class: "template-frame",
        id: "template-preview-frame", referrerpolicy: "no-referrer" });
      frame.srcdoc = data.body || "";
      fill(previewOut,
        h("p", { class: "muted", text: `Offering ${data.offeringId || "—"} (${data.offeringTitle || ""}), for ` +
          `${data.person || "a person"} as ${ROLE_NAMES[role.value] || role.value}.` }),
        h("dl", { class: "facts" }, h("dt", { text: "Subject" }),
          h("dd", { id: "template-preview-subject", text: data.subject || "" })),
        frame);
    } catch (error) {
      if (mine === asked) fill(previewOut, explain(error));
    }
  }
  function schedulePreview(delay = PREVIEW_DELAY) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(preview, delay);
  }
  for (const input of [subject, body, offering]) input.addEventListener("input", () => schedulePreview());
  previewButton.addEventListener("click", () => schedulePreview(0));
  load.addEventListener("click", () => open());
  role.addEventListener("change", () => open());

  const form = h("form", { class: "template-form", novalidate: true },
    h("div", { class: "toolbar" }, field("Role", role), field("Language (BCP 47)", language), known, load),
    editorState,
    field("Subject", subject, "One line of plain text with {{ placeholders }}."),
    field("Body (HTML)", body, "Placeholders such as {{ offering_title }}; sections such as {% if join_url %} … " +
      "{% endif %}. Feed text is escaped when rendered. At most 32,000 characters."),
    field("Preview with offering", offering, "An offering id of the feed in force; empty: the feed's first."),
    h("div", { class: "actions" }, previewButton, save), saveOut);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    save.disabled = true;
    fill(saveOut, status("info", "Saving…"));
    const path = `templates/${encodeURIComponent(role.value)}/${encodeURIComponent(language.value.trim())}`;
    try {
      const { data } = await api("PUT", path, { subject: subject.value, body: body.value });
      fill(saveOut, status("ok", `Saved as version ${data.version}.`),
        h("p", { class: "muted", text: "Invitations already sent keep their wording until you roll the templates " +
          "out (below) or their offering is reconciled." }));
      const { data: fresh } = await api("GET", "templates");
      showList(fresh);
      await open();
    } catch (error) {
      const problems = problemsOf(error);
      fill(saveOut, problems.length ? status("error", "Not saved: fix these and save again.") : explain(error),
        problemsList(problems));
    } finally {
      save.disabled = false;
    }
  });

  const phrases = phrasesEditor(language.value, explain, async () => showList((await api("GET", "templates")).data));

  root.append(
    section("Templates in force", listBox),
    section("Edit a template", form, h("h3", { text: "Preview" }), previewOut, versionsBox),
    section("Phrases", h("p", { class: "muted", text: "The short texts every role's template shares in a " +
      "language: the \"Online\" location and the cancellation comments. Each shows the text in force and whether " +
      "it is the organisation's (stored) or the built-in one; change a text, or tick \"Back to built-in\", and save." }),
    phrases),
    section("Roll out", h("p", { class: "muted", text: "A saved template reaches invitations already sent only " +
      "when you roll it out (or an offering is reconciled). The count comes first; the updates are then sent at " +
      "the organizers' pace." }), rolloutControl(explain)));
  await open();
}
