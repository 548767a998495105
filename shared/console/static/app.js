// The console's entry point: who is signed in, the navigation, and one page at a time.
import { ApiError, apiBase, consoleBase } from "./api.js";
import { clear, h, status } from "./dom.js";
import audit from "./pages/audit.js";
import feed from "./pages/feed.js";
import nextRun from "./pages/nextrun.js";
import offerings from "./pages/offerings.js";
import provider from "./pages/provider.js";
import responses from "./pages/responses.js";
import runs from "./pages/runs.js";

const PAGES = {
  provider: { title: "Provider", render: provider },
  runs: { title: "Runs", render: runs },
  offerings: { title: "Offerings", render: offerings },
  responses: { title: "Responses", render: responses },
  "next-run": { title: "Next run", render: nextRun },
  feed: { title: "Feed", render: feed },
  audit: { title: "Audit trail", render: audit },
};

const main = document.getElementById("main");
let signedIn = null;
let canChange = true;

function pageName() {
  const rest = location.pathname.slice(consoleBase.length).replace(/\/$/, "");
  if (PAGES[rest]) return rest;
  return canChange ? "provider" : "runs"; // readers start where they can read
}

// What the page says when the API refuses: sign in (401) or a missing role (403).
export function explain(error) {
  if (error instanceof ApiError && error.status === 401) {
    const next = encodeURIComponent(location.pathname + location.search);
    return status("error", "You are not signed in. ",
      h("a", { href: `/.auth/login?post_login_redirect_uri=${next}`, text: "Sign in" }), " to use the console.");
  }
  if (error instanceof ApiError && error.status === 403 && error.problem.type !== undefined &&
      String(error.problem.type).includes("csrf")) {
    return status("error", error.message);
  }
  if (error instanceof ApiError && error.status === 403) {
    const who = signedIn ? `${signedIn} is signed in but ` : "You are signed in but ";
    return status("error", h("strong", { text: "Access refused. " }),
      `${who}does not have the app role this needs. `, h("span", { class: "detail", text: error.message }));
  }
  if (error instanceof ApiError && error.status === 404 && error.problem.type === undefined) {
    return status("warn", "This function app does not offer this part of the admin API yet: deploy a version " +
      "that has it (see docs/admin-api.md).");
  }
  return status("error", error.message || String(error));
}

async function show(focus = false) {
  const name = pageName();
  const page = PAGES[name];
  document.title = `${page.title}: Learning Calendar Sync`;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  clear(main);
  main.append(h("h1", { text: page.title }));
  const body = h("div", { class: "page" });
  main.append(body);
  if (focus) main.focus(); // keyboard and screen-reader users land on the new page's content
  try {
    await page.render(body, { explain, navigate });
  } catch (error) {
    body.append(explain(error));
  }
}

export function navigate(target) {
  history.pushState({}, "", consoleBase + target);
  show(true);
}

document.getElementById("nav").addEventListener("click", (event) => {
  const link = event.target.closest("a[data-page]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  navigate(link.dataset.page);
});
window.addEventListener("popstate", () => show());

// GET /api/me names the signed-in person and what they may do (any signed-in caller may ask).
async function whoAmI() {
  const who = document.getElementById("who");
  try {
    const response = await fetch(`${apiBase}me`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const me = await response.json();
    signedIn = me.name || null;
    canChange = me.canChange !== false;
    const roles = (me.roles || []).map((role) => role.replace("LearningCalendar.", ""));
    const may = me.canChange ? "" : me.canRead ? ", read only" : ", no access";
    if (signedIn) who.textContent = `Signed in as ${signedIn} (${roles.length ? roles.join(", ") : "no role"}${may})`;
  } catch {
    // the pages still work; only the name is not shown
  }
}

whoAmI().finally(show);
