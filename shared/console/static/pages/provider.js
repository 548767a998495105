// Provider: what the service signs in as and sends from; save, set or rotate the secret, Validate.
import { api, ApiError, runJob } from "../api.js";
import { age, field, fill, h, section, status, table, text, when } from "../dom.js";
import { rolloutControl } from "../rollout.js";

const lines = (value) => value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);

function facts(view) {
  const organizers = view.organizers || (view.organizer ? [view.organizer] : []);
  const allowlist = view.recipientAllowlist || [];
  const secret = view.clientSecret
    ? `${view.clientSecret} (${view.clientSecretSource || "stored"}${view.clientSecretUpdatedAt
      ? `, set ${when(view.clientSecretUpdatedAt)}, ${age(view.clientSecretUpdatedAt)}` : ""})`
    : view.authMode === "federated" ? "none needed (managed identity as federated credential)" : "not set";
  const expiry = view.clientSecretExpiresAt
    ? `${when(view.clientSecretExpiresAt)}` : "shown by Validate (the app registration holds it)";
  const rows = [
    ["Status", view.status], ["Configured in", view.source], ["Tenant", view.tenantId],
    ["App (client) ID", view.clientId], [organizers.length > 1 ? "Organizers" : "Organizer", organizers.join(", ")],
    ["Sign-in", view.authMode], ["Client secret", secret], ["Secret expiry", expiry],
    ["Recipient allow-list", allowlist.length ? allowlist.join(", ") : "none: everyone in the feed is invited"],
    ["Default language", view.defaultLanguage || "en"],
    ["Response collection", collection(view)],
    ["Last saved", view.updatedAt ? `${when(view.updatedAt)} by ${text(view.updatedBy)}` : "never"],
  ];
  return h("dl", { class: "facts" }, rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: text(v) })]));
}

// The stored switch (null: the app setting LEARNCAL_REQUEST_RESPONSES decides) and what is in force.
function collection(view) {
  const now = view.requestResponsesInForce ? "on: invitations ask for a response, responses are collected"
    : "off: no response is asked for";
  return view.requestResponses === true || view.requestResponses === false ? now
    : `${now} (from the app setting LEARNCAL_REQUEST_RESPONSES)`;
}

const SWITCH_VALUES = { true: "on", false: "off" };

function switchValue(view) {
  return SWITCH_VALUES[String(view.requestResponses)] || "environment";
}

function showFieldErrors(form, error) {
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  for (const item of error.fieldErrors) {
    const name = String(item.field || "").split(/[.[]/)[0];
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!input) continue;
    input.setAttribute("aria-invalid", "true");
    const slot = document.getElementById(`${input.id}-error`);
    if (slot) slot.textContent = `${item.field} ${item.message}`;
  }
}

function validateResults(report) {
  const checks = (report && report.checks) || [];
  const failed = checks.filter((c) => c.status === "fail").length;
  const warned = checks.filter((c) => c.status === "warn").length;
  const summary = failed ? status("error", `${failed} check(s) failed, ${warned} warning(s).`)
    : warned ? status("warn", `All checks passed but ${warned} warning(s).`) : status("ok", "Every check passed.");
  const word = { pass: "Pass", warn: "Warning", fail: "Failed" };
  return h("div", { id: "validate-results" }, summary, table("Validate: each check", [
    ["Check", (c) => c.name],
    ["Result", (c) => h("span", { class: `result-${c.status}`, text: word[c.status] || c.status })],
    ["What was found", (c) => c.detail],
    ["How to fix it", (c) => c.fix || ""],
  ], checks, { className: "checks" }));
}

export default async function render(root, { explain }) {
  const { data: view } = await api("GET", "provider");
  let current = section("Current configuration", facts(view));
  const organizers = view.organizers || (view.organizer ? [view.organizer] : []);

  const statusInput = h("select", { name: "status" },
    h("option", { value: "active", text: "Active: runs send invitations" }),
    h("option", { value: "inactive", text: "Inactive: runs send nothing" }));
  statusInput.value = view.status || "inactive";
  const tenant = h("input", { type: "text", name: "tenantId", value: view.tenantId || "", autocomplete: "off", spellcheck: "false" });
  const client = h("input", { type: "text", name: "clientId", value: view.clientId || "", autocomplete: "off", spellcheck: "false" });
  const organizer = h("textarea", { name: "organizer", rows: 2, spellcheck: "false" });
  organizer.value = organizers.join("\n");
  const authMode = h("select", { name: "authMode" },
    h("option", { value: "secret", text: "Client secret (kept in Key Vault)" }),
    h("option", { value: "federated", text: "Managed identity as federated credential (no secret)" }));
  authMode.value = view.authMode || "secret";
  const allowlist = h("textarea", { name: "recipientAllowlist", rows: 2, spellcheck: "false" });
  allowlist.value = (view.recipientAllowlist || []).join("\n");
  const secret = h("input", { type: "password", name: "clientSecret", autocomplete: "new-password" });
  const defaultLanguage = h("input", { type: "text", name: "defaultLanguage", value: view.defaultLanguage || "en",
    autocomplete: "off", spellcheck: "false" });
  const responses = h("select", { name: "requestResponses", id: "request-responses" },
    h("option", { value: "on", text: "On: new invitations ask for a response; responses are collected" }),
    h("option", { value: "off", text: "Off: no response is asked for or collected" }),
    h("option", { value: "environment", text: "As the app setting LEARNCAL_REQUEST_RESPONSES says" +
      (switchValue(view) === "environment" ? ` (now ${view.requestResponsesInForce ? "on" : "off"})` : "") }));
  responses.value = switchValue(view);
  let savedSwitch = responses.value;
  const responsesNote = h("div", { "aria-live": "polite", id: "request-responses-note" });
  const toRollout = (event) => { // stays on this page (a fragment change would re-render it)
    event.preventDefault();
    const control = document.getElementById("rollout-count");
    if (control) { control.scrollIntoView({ block: "center" }); control.focus(); }
  };
  const rolloutHint = () => status("info", "Invitations already sent are untouched until a roll-out: they keep " +
    "asking (or not asking) for a response until you roll the change out. ",
  h("a", { href: "#rollout", text: "Count the updates and roll out", on: { click: toRollout } }), " below, or on the ",
  h("a", { href: "templates", text: "Templates page" }), ".");
  responses.addEventListener("change", () => {
    if (responses.value === savedSwitch) fill(responsesNote);
    else fill(responsesNote, rolloutHint());
  });
  const confirmOrganizer = h("input", { type: "checkbox", name: "confirmOrganizerChange", id: "confirm-organizer" });
  const confirmAllowlist = h("input", { type: "checkbox", name: "confirmAllowlistRemoval", id: "confirm-allowlist" });
  const saveResult = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "primary", text: "Save provider" });

  const form = h("form", { class: "provider-form", novalidate: true },
    h("div", { class: "grid2" },
      field("Status", statusInput),
      field("Sign-in method", authMode),
      field("Tenant ID", tenant, "Microsoft Entra ID > Overview > Tenant ID"),
      field("App (client) ID", client, "App registrations > your app > Application (client) ID"),
      field("Organizer mailbox(es)", organizer, "One address a line; invitations come from these mailboxes"),
      field("Recipient allow-list", allowlist, "Optional, for testing: only these addresses or @domains are invited"),
      field("Default language", defaultLanguage, "BCP 47, such as en, de or fr-CH: for people whose language the " +
        "feed does not give; invitations already sent change only by a roll-out (Templates page)"),
      h("div", { class: "field-wide" }, field("Response collection", responses, "Whether invitations ask " +
        "attendees for a response and their responses are collected (Responses page). Proposals of a new time stay " +
        "off: the learning system owns the schedule."), responsesNote),
      field(view.clientSecret ? "Rotate client secret" : "Client secret", secret,
        view.clientSecret ? "Leave empty to keep the stored secret; a new value replaces it in Key Vault"
          : "The app registration's client secret value; stored in Key Vault, never shown again")),
    h("label", { class: "check" }, confirmOrganizer,
      "I know invitations sent from the current organizer stay with it (needed to change the organizer)"),
    h("label", { class: "check" }, confirmAllowlist, "Remove the stored allow-list (needed to empty it)"),
    h("div", { class: "actions" }, save), saveResult);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    save.disabled = true;
    fill(saveResult, status("info", "Saving…"));
    const addresses = lines(organizer.value);
    const body = {
      status: statusInput.value, tenantId: tenant.value.trim(), clientId: client.value.trim(),
      authMode: authMode.value, recipientAllowlist: lines(allowlist.value),
    };
    body.requestResponses = responses.value === "environment" ? null : responses.value === "on";
    if (defaultLanguage.value.trim()) body.defaultLanguage = defaultLanguage.value.trim();
    if (addresses.length > 1) body.organizers = addresses;
    else body.organizer = addresses[0] || "";
    if (secret.value) body.clientSecret = secret.value;
    if (confirmOrganizer.checked) body.confirmOrganizerChange = true;
    if (confirmAllowlist.checked) body.confirmAllowlistRemoval = true;
    if (!body.recipientAllowlist.length && !(view.recipientAllowlist || []).length) delete body.recipientAllowlist;
    try {
      const { data } = await api("PUT", "provider", body);
      secret.value = "";
      showFieldErrors(form, new ApiError(200, {}));
      fill(saveResult, status("ok", "Saved. Press Validate to check it against the tenant."),
        ...(data.notices || []).map((n) => status("info", n)));
      if (responses.value !== savedSwitch) {
        savedSwitch = responses.value;
        fill(responsesNote, rolloutHint());
      }
      const replaced = section("Current configuration", facts(data));
      current.replaceWith(replaced);
      current = replaced; // a second save replaces this one
    } catch (error) {
      if (error instanceof ApiError) showFieldErrors(form, error);
      fill(saveResult, explain(error));
    } finally {
      save.disabled = false;
    }
  });

  const validateOut = h("div", { "aria-live": "polite" });
  const validate = h("button", { type: "button", class: "primary", text: "Validate" });
  validate.addEventListener("click", async () => {
    validate.disabled = true;
    fill(validateOut, status("info", "Validating against the tenant… (this runs as a job; you can stay here)"));
    try {
      const job = await runJob({ kind: "validate" }, (progress) => {
        const state = progress && (progress.state || progress.status);
        fill(validateOut, status("info", `Validate is ${state || "running"}…`));
      }, { method: "POST", route: "provider/validate" });
      if ((job.state || job.status) === "failed") {
        fill(validateOut, status("error", job.error || job.message || "Validate could not finish."));
      } else {
        fill(validateOut, validateResults(job.result || job.report || job));
      }
    } catch (error) {
      fill(validateOut, explain(error));
    } finally {
      validate.disabled = false;
    }
  });

  root.append(current,
    section("Change the provider", form),
    section("Validate", h("p", { class: "muted", text: "Checks sign-in, permissions, the organizer mailbox and the " +
      "allow-list against the tenant, and says how to fix what fails." }), h("div", { class: "actions" }, validate),
    validateOut),
    section("Roll out a change", h("p", { class: "muted", text: "A change of response collection or of the " +
      "default language reaches invitations already sent only when you roll it out (or an offering is " +
      "reconciled). The count of update messages comes first; the updates are then sent at the organizers' pace. " +
      "Template changes are rolled out the same way." }), rolloutControl(explain)),
    h("p", { class: "muted", text: "Who may use this console is decided by app roles in Microsoft Entra ID: " +
      "LearningCalendar.Admin may change everything; LearningCalendar.Reader may read runs, offerings, feeds and " +
      "the audit trail, and so sees learners' email addresses." }));
}
