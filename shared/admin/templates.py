"""Handlers of the template routes and of the roll-out: list, read, save, preview, roll out.

A saved template changes nothing already sent: invitations get the new wording when their
offering is reconciled or when an administrator rolls the templates out (POST /api/rollout),
which first says how many updates that sends.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

from shared.admin.auth import ADMIN_ROLE, READER_ROLE, Principal
from shared.admin.context import services
from shared.admin.http import dispatch, json_body, ok, query_value
from shared.admin.inputs import PhrasesInput, PreviewInput, TemplateInput
from shared.admin.problem import Problem, invalid
from shared.admin.rollout import not_ready
from shared.provider.model import parse
from shared.store.audit import audit
from shared.store.templates import (
    PHRASES_KIND,
    TemplateConflict,
    TemplateNotSaved,
    TemplateStore,
    check_language,
    check_role,
)

log = logging.getLogger("learncal.admin")

SAVED_NOTE = ("Invitations already sent keep their wording until their offering is reconciled or the templates are "
              "rolled out (POST /api/rollout, learncal rollout); new invitations and key-change updates use it now.")


def refused(error: TemplateNotSaved, what: str = "template") -> Problem:
    """422 with each problem's field, line and fix (`errors`, and `problems` as the preview names them)."""
    verb = "were" if what == "phrases" else "was"
    return Problem(422, "template-refused", f"The {what} {verb} not saved: " + "; ".join(
        f"{p['field']}{' line ' + str(p['line']) if p.get('line') else ''}: {p['message']}" for p in error.problems),
        title="Template refused", errors=error.problems, extensions={"problems": error.problems})


def _pair(req: func.HttpRequest) -> tuple[str, str]:
    role = (req.route_params.get("role") or "").strip()
    language = (req.route_params.get("language") or "").strip()
    return check_role(role), check_language(language)


def default_language() -> str:
    return str(services().provider.current()[0].default_language)


# -- GET /api/templates ----------------------------------------------------------------------

def listing() -> dict[str, Any]:
    """Every template in force: each (role, language), built-in or its newest stored version."""
    from shared.templates.model import TEMPLATE_ROLES

    language = default_language()
    store = TemplateStore(services().tables)
    in_force = store.current(language)
    stored = {(r.role, r.language): r for r in store.stored()}
    rows = []
    for role, lang in sorted(in_force.texts, key=lambda pair: (pair[1], TEMPLATE_ROLES.index(pair[0])
                                                                 if pair[0] in TEMPLATE_ROLES else 99)):
        record = stored.get((role, lang))
        rows.append(record.to_json(with_text=False) if record is not None else
                    {"role": role, "language": lang, "version": 0, "source": "builtin", "updatedBy": None,
                     "updatedAt": None})
    stored_phrases = {r.language: r for r in store.stored_phrases(language)}
    phrases = [stored_phrases[lang].to_json(with_text=False) if lang in stored_phrases else
               {"language": lang, "version": 0, "source": "builtin", "updatedBy": None, "updatedAt": None}
               for lang in sorted(in_force.phrases)]
    return {"value": rows, "defaultLanguage": language, "version": in_force.version, "roles": list(TEMPLATE_ROLES),
            "languages": sorted({lang for _role, lang in in_force.texts}), "phrases": phrases}


def _list(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    return ok(listing())


def templates(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"GET": _list}, role=READER_ROLE)


# -- GET|PUT /api/templates/{role}/{language} ------------------------------------------------

def _get(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    role, language = _pair(req)
    store = TemplateStore(services().tables)
    raw = query_value(req, "version")
    if raw is not None:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
            raise invalid([{"field": "version", "message": "must be a version number (0 is the built-in text)"}])
        record = store.version(role, language, int(raw))
    else:
        record = store.get(role, language)
    if record is None:
        raise Problem(404, "unknown-template", f"No {role} template in {language} is stored or built in"
                      + (f" as version {raw}" if raw is not None else "") + ". GET /api/templates lists them; PUT "
                      "one to add the language.", title="Unknown template")
    versions = [v.to_json(with_text=False) for v in store.versions(role, language)]
    return ok({**record.to_json(), "versions": versions})


def _put(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.templates.model import TemplateText

    role, language = _pair(req)
    data: TemplateInput = parse(TemplateInput, json_body(req, required=True))
    current = services()
    try:
        version = TemplateStore(current.tables).put(role, language, TemplateText(data.subject, data.body),
                                                    principal.actor)
    except TemplateNotSaved as error:
        raise refused(error) from None
    except TemplateConflict as error:
        raise Problem(409, "template-conflict", str(error), title="Saved by others at the same moment") from None
    record_template_set(current.tables, principal.actor, role, language, version, data.subject, data.body, via="api")
    record = TemplateStore(current.tables).version(role, language, version)
    assert record is not None
    return ok({**record.to_json(), "message": f"Saved as version {version}. {SAVED_NOTE}"})


def record_template_set(tables: Any, actor: str, role: str, language: str, version: int, subject: str, body: str,
                        *, via: str) -> None:
    """The audit entry of a save: the version and the subject; the body's size and digest, not its text."""
    import hashlib

    audit(tables, actor, "template.set", f"{role}/{language}", {
        "via": via, "version": version, "subject": subject[:500], "bodyCharacters": len(body),
        "bodySha256": hashlib.sha256(body.encode("utf-8")).hexdigest()[:16],
    })
    log.info("The %s template in %s was saved as version %d by %s.", role, language, version, actor)


def template(req: func.HttpRequest) -> func.HttpResponse:
    """One template, or (`templates/phrases/{language}`, the same route) one language's phrases."""
    role = READER_ROLE if req.method.upper() in ("GET", "HEAD") else ADMIN_ROLE
    if (req.route_params.get("role") or "").strip() == PHRASES_KIND:
        return dispatch(req, {"GET": _get_phrases, "PUT": _put_phrases}, role=role)
    return dispatch(req, {"GET": _get, "PUT": _put}, role=role)


# -- GET|PUT /api/templates/phrases/{language} -----------------------------------------------

def phrases_view(store: TemplateStore, language: str, default: str) -> dict[str, Any]:
    """A language's phrases in force, what each receives, and the versions (GET and the CLI's --json)."""
    from shared.templates.model import PHRASE_VALUES, PHRASES

    record = store.phrases(language, default)
    return {**record.to_json(), "keys": list(PHRASES),
            "placeholders": {name: sorted(PHRASE_VALUES[name]) for name in PHRASES},
            "versions": [v.to_json(with_text=False) for v in store.phrase_versions(language, default)]}


def _get_phrases(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    language = check_language((req.route_params.get("language") or "").strip())
    return ok(phrases_view(TemplateStore(services().tables), language, default_language()))


def _put_phrases(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    language = check_language((req.route_params.get("language") or "").strip())
    data: PhrasesInput = parse(PhrasesInput, json_body(req, required=True))
    current = services()
    store = TemplateStore(current.tables)
    try:
        version = store.put_phrases(language, data.phrases, principal.actor)
    except TemplateNotSaved as error:
        raise refused(error, "phrases") from None
    except TemplateConflict as error:
        raise Problem(409, "template-conflict", str(error), title="Saved by others at the same moment") from None
    record_phrases_set(current.tables, principal.actor, language, version, data.phrases, via="api")
    return ok({**phrases_view(store, language, default_language()),
               "message": f"Saved as version {version}. {SAVED_NOTE}"})


def record_phrases_set(tables: Any, actor: str, language: str, version: int, changes: dict[str, str | None], *,
                       via: str) -> None:
    """The audit entry of a phrases save: the version and the phrases changed (null: back to the built-in text)."""
    audit(tables, actor, "template.set", f"{PHRASES_KIND}/{language}",
          {"via": via, "version": version, "phrases": {k: (v[:300] if v is not None else None)
                                                        for k, v in changes.items()}})
    log.info("The phrases in %s were saved as version %d by %s.", language, version, actor)


# -- POST /api/templates/preview -------------------------------------------------------------

def _preview(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    from shared.admin.template_preview import preview
    from shared.errors import ConfigurationError, FeedUnreadable, NoFeedYet

    data: PreviewInput = parse(PreviewInput, json_body(req, required=True))
    current = services()
    try:
        return ok(preview(current.provider.effective_settings(), current.tables, role=data.role,
                          language=check_language(data.language), subject=data.subject, body=data.body,
                          offering_id=data.offering_id, default_language=default_language()))
    except (ConfigurationError, FeedUnreadable, NoFeedYet) as error:
        raise not_ready(error) from None


def template_preview(req: func.HttpRequest) -> func.HttpResponse:
    return dispatch(req, {"POST": _preview}, role=READER_ROLE)
