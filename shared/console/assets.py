"""Serves the console's static files (HTML, CSS, ES modules, the vendored chart library).

The files ship inside the package, so the console needs no web server and no build step. Every
answer carries a Content-Security-Policy that allows only this origin's scripts and styles (no
inline script, no external CDN), so even text that slipped into a page could not run.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import azure.functions as func

STATIC = Path(__file__).resolve().parent / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".md": "text/plain",
}
PAGES = frozenset({"", "index.html", "provider", "runs", "offerings", "responses", "next-run", "feed", "audit"})


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }


def _file_for(path: str) -> Path | None:
    """The static file for a request path, or None (never a file outside the static folder)."""
    parts = PurePosixPath(path).parts
    unsafe = any(part in ("..", ".") or part.startswith(".") or "\\" in part for part in parts)
    if len(parts) < 2 or parts[0] != "static" or unsafe:
        return None
    candidate = STATIC.joinpath(*parts[1:])
    if candidate.suffix not in TYPES or not candidate.is_file():
        return None
    return candidate


def console_response(req: func.HttpRequest) -> func.HttpResponse:
    headers = security_headers()
    path = (req.route_params.get("path") or "").strip()
    if req.method.upper() not in ("GET", "HEAD"):
        return func.HttpResponse("Only GET is supported here.", status_code=405,
                                 headers={**headers, "Allow": "GET, HEAD"}, mimetype="text/plain")
    url_path = req.url.split("?", 1)[0]
    if path == "" and not url_path.endswith("/"):
        # relative links in the page resolve against .../console/, so the address must end with a slash
        return func.HttpResponse("", status_code=302, headers={**headers, "Location": url_path + "/"})
    if path.rstrip("/") in PAGES:
        file = STATIC / "index.html"  # the single page shows the section the address names
    else:
        found = _file_for(path)
        if found is None:
            return func.HttpResponse("Not found.", status_code=404, headers=headers, mimetype="text/plain")
        file = found
    cache = "no-cache" if file.suffix in (".html", ".js", ".css") else "public, max-age=3600"
    return func.HttpResponse(file.read_bytes(), status_code=200, headers={**headers, "Cache-Control": cache},
                             mimetype=TYPES[file.suffix], charset="utf-8")
