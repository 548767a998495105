// Calls the admin API of the same function app. Writes carry X-Learncal-Request: 1, the header a
// cross-site form cannot send (the API refuses writes without it).

const path = location.pathname;
export const consoleBase = path.slice(0, path.indexOf("/console/") + "/console/".length);
export const apiBase = consoleBase.slice(0, consoleBase.length - "console/".length);

export class ApiError extends Error {
  constructor(status, problem, text) {
    const detail = problem && (problem.detail || problem.title);
    super(detail || text || `The request failed (HTTP ${status}).`);
    this.status = status;
    this.problem = problem || {};
  }

  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

export async function api(method, route, body, options = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-Learncal-Request"] = "1";
  let payload;
  if (body instanceof Blob || typeof body === "string") {
    payload = body;
    headers["Content-Type"] = options.contentType || "application/octet-stream";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(apiBase + route, { method, headers, body: payload, credentials: "same-origin" });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data, data ? "" : text.slice(0, 300));
  return { status: response.status, data };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Follows something asynchronous (a job or a run) until `done` says it has ended.
export async function follow(route, done, onProgress, { interval = 500, limit = 15 * 60 * 1000 } = {}) {
  const started = Date.now();
  for (;;) {
    const { data } = await api("GET", route);
    if (onProgress) onProgress(data);
    if (done(data)) return data;
    if (Date.now() - started > limit) throw new Error("Still running after 15 minutes; look again later.");
    await sleep(interval);
  }
}

const JOB_ENDS = new Set(["completed", "failed", "succeeded", "done", "cancelled"]);
const RUN_ENDS = new Set(["completed", "failed", "skipped"]);

export function jobEnded(job) {
  return JOB_ENDS.has(String(job && (job.state || job.status)));
}

export function runEnded(run) {
  const state = run && (run.state || run.status);
  return RUN_ENDS.has(String(state));
}

// Starts an asynchronous job (validate, preview) and follows it. Where this app has no job API, the
// same work is done by the synchronous route `fallback` describes.
export async function runJob(request, onProgress, fallback) {
  let started;
  try {
    started = await api("POST", "jobs", request);
  } catch (error) {
    if (fallback && error instanceof ApiError && (error.status === 404 || error.status === 405)) {
      const { data } = await api(fallback.method, fallback.route, fallback.body);
      return { state: "completed", result: data };
    }
    throw error;
  }
  const job = started.data || {};
  const id = job.jobId || job.id;
  if (!id || jobEnded(job)) return job;
  return follow(`jobs/${encodeURIComponent(id)}`, jobEnded, onProgress);
}
