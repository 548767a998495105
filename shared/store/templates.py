"""The organisation's invitation templates in Table Storage: every version kept, the newest in force.

A template is one (role, language) pair's subject and HTML body. Saving never overwrites:
each save is a new numbered version with who saved it and when, so the audit trail and the
console can show what an invitation said at any time. The set in force is the built-in
texts with the newest stored version of each pair over them.

Rows (one table, "templates"):
- PartitionKey "current", RowKey "<role>|<language>": the newest version of each pair, so the
  set in force is read with one partition query whatever the history's length;
- PartitionKey "v|<role>|<language>", RowKey the inverted version number: every version,
  newest first.

Table Storage keeps a string property to 64 KiB (32,768 UTF-16 code units) and an entity to
1 MiB (learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model),
so a body is capped at MAX_BODY characters and stored in pieces of PIECE characters.

A language's phrases (the "Online" location, the cancellation comments) are kept in the same
way, as a row of kind "phrases": RowKey "phrases|<language>" in "current", PartitionKey
"v|phrases|<language>" for the history. Each version holds the organisation's own phrases of
the language as a JSON object (only those it changed; the rest are the built-in ones).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.errors import LearncalError
from shared.provider.errors import InvalidInput
from shared.store.tables import Tables, key_part
from shared.templates.languages import normalize_language
from shared.templates.model import PHRASES, TEMPLATE_ROLES, TemplateSet, TemplateText, phrase_base

CURRENT = "current"
MAX_SUBJECT = 1_000  # the template's own text; the rendered subject is cut to Exchange's 255 when rendered
MAX_BODY = 32_000
PIECE = 16_000  # characters per property: at most 32,000 UTF-16 code units, inside the 64 KiB limit
_PIECES = -(-MAX_BODY // PIECE)
_INVERT = 10**10
_ATTEMPTS = 10
PHRASES_KIND = "phrases"


class TemplateNotSaved(InvalidInput):
    """A template the checks or a size limit refuse; `problems` (and `errors`) are {field, line, message, fix}."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems
        super().__init__([dict(p) for p in problems])


class TemplateConflict(LearncalError):
    """Others saved the same template at the same moment on every attempt (try again)."""


def _version_fields(version: int, updated_by: str | None, updated_at: datetime | None) -> dict[str, Any]:
    """The fields every stored version shows alike (templates and phrases): version 0 is built in."""
    return {"version": version, "source": "builtin" if version == 0 else "stored", "updatedBy": updated_by,
            "updatedAt": updated_at.astimezone(UTC).isoformat().replace("+00:00", "Z") if updated_at else None}


@dataclass(frozen=True)
class TemplateRecord:
    """One version of one template; version 0 is the built-in text (never stored)."""

    role: str
    language: str
    subject: str
    body: str
    version: int
    updated_by: str | None = None
    updated_at: datetime | None = None

    @property
    def builtin(self) -> bool:
        return self.version == 0

    @property
    def text(self) -> TemplateText:
        return TemplateText(self.subject, self.body)

    def to_json(self, *, with_text: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"role": self.role, "language": self.language,
                                **_version_fields(self.version, self.updated_by, self.updated_at)}
        if with_text:
            body.update(subject=self.subject, body=self.body)
        return body


@dataclass(frozen=True)
class PhraseRecord:
    """One version of one language's phrases; `own` holds the organisation's, `phrases` all in force then.

    Version 0 is the built-in phrases alone (never stored).
    """

    language: str
    own: Mapping[str, str]
    phrases: Mapping[str, str]
    version: int
    updated_by: str | None = None
    updated_at: datetime | None = None

    @property
    def builtin(self) -> bool:
        return self.version == 0

    def to_json(self, *, with_text: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"language": self.language,
                                **_version_fields(self.version, self.updated_by, self.updated_at)}
        if with_text:
            body.update(phrases=dict(self.phrases), own=dict(self.own))
        return body


def check_role(role: str) -> str:
    if role not in TEMPLATE_ROLES:
        raise InvalidInput([{"field": "role", "message": f"must be one of {', '.join(TEMPLATE_ROLES)}"}])
    return role


def check_language(language: str) -> str:
    """The tag in its one spelling (`de-ch` -> `de-CH`), so both name the same template."""
    try:
        return normalize_language(language or "")
    except ValueError as error:
        raise InvalidInput([{"field": "language", "message": str(error)}]) from None


def size_problems(text: TemplateText) -> list[dict[str, Any]]:
    """The limits storage sets, said before anything is stored."""
    found: list[dict[str, Any]] = []
    if len(text.subject) > MAX_SUBJECT:
        found.append({"field": "subject", "line": None, "message": f"is {len(text.subject):,} characters; a "
                      f"subject template may have at most {MAX_SUBJECT:,}", "fix": "Shorten the subject: Outlook "
                      "shows about the first 60 characters and Exchange keeps 255."})
    if len(text.body) > MAX_BODY:
        found.append({"field": "body", "line": None, "message": f"is {len(text.body):,} characters; a body template "
                      f"may have at most {MAX_BODY:,} (Table Storage keeps a text property to 64 KiB)",
                      "fix": "Move long text (a policy, directions) to a web page and link it from the template."})
    if "\n" in text.subject or "\r" in text.subject:
        found.append({"field": "subject", "line": 2, "message": "has a line break; a subject is one line of text",
                      "fix": "Put the subject on one line."})
    return found


def template_problems(role: str, language: str, text: TemplateText) -> list[dict[str, Any]]:
    """Everything that refuses a template: storage limits, then the engine's checks (line and fix)."""
    from shared.templates.engine import check_template

    found = size_problems(text)
    if found:
        return found
    return [{"field": p.field, "line": p.line, "message": p.message, "fix": p.fix}
            for p in check_template(role, language, text)]


def phrase_problems(changes: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """Everything that refuses these phrases: unknown keys, then the engine's checks per phrase (line and fix)."""
    from shared.templates.engine import check_phrase

    found: list[dict[str, Any]] = []
    for name in changes:
        if name not in PHRASES:
            found.append({"field": f"phrases.{name}", "line": None, "message": f"{name!r} is not a phrase",
                          "fix": f"use one of: {', '.join(PHRASES)}"})
    for name, text in changes.items():
        if name not in PHRASES or text is None:
            continue
        if not isinstance(text, str):
            found.append({"field": f"phrases.{name}", "line": None, "message": "must be text (or null for the "
                          "built-in text)", "fix": "write the phrase as a JSON string"})
            continue
        found.extend({"field": f"phrases.{name}", "line": p.line, "message": p.message, "fix": p.fix}
                     for p in check_phrase(name, text))
    return found


def _own(entity: Mapping[str, Any]) -> dict[str, str]:
    try:
        found = json.loads(str(entity.get("Phrases") or "{}"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items() if k in PHRASES} if isinstance(found, dict) else {}


def _inverted(version: int) -> str:
    return f"{_INVERT - version:010d}"


def _pair(role: str, language: str) -> str:
    return key_part(f"{role}|{language}")


def _pieces(body: str) -> dict[str, str]:
    return {f"Body{n}": body[n * PIECE:(n + 1) * PIECE] for n in range(_PIECES) if body[n * PIECE:(n + 1) * PIECE]}


def _body(entity: Mapping[str, Any]) -> str:
    return "".join(str(entity.get(f"Body{n}") or "") for n in range(_PIECES))


def _record(entity: Mapping[str, Any]) -> TemplateRecord:
    return TemplateRecord(role=str(entity["Role"]), language=str(entity["Language"]),
                          subject=str(entity.get("Subject") or ""), body=_body(entity),
                          version=int(entity["Version"]), updated_by=entity.get("UpdatedBy") or None,
                          updated_at=entity.get("UpdatedAt"))


class TemplateStore:
    def __init__(self, tables: Tables, *, clock: Any = None) -> None:
        self._table = tables["templates"]
        self._clock = clock or (lambda: datetime.now(UTC))

    # -- reading ---------------------------------------------------------------------------

    def stored(self) -> list[TemplateRecord]:
        """The newest stored version of every (role, language) saved so far."""
        return self._stored()[0]

    def _stored(self) -> tuple[list[TemplateRecord], dict[str, Mapping[str, Any]]]:
        """The newest templates, and the newest phrase rows by language: one partition query."""
        rows = list(self._table.query_entities("PartitionKey eq @pk", parameters={"pk": CURRENT}))
        texts = [_record(e) for e in rows if e.get("Kind") != PHRASES_KIND]
        phrases = {str(e["Language"]): e for e in rows if e.get("Kind") == PHRASES_KIND}
        return sorted(texts, key=lambda r: (r.role, r.language)), phrases

    def current(self, default_language: str = "en") -> TemplateSet:
        """The set in force: the built-in texts and phrases, each overridden by its newest stored version."""
        in_force = TemplateSet.builtin(default_language)
        stored, phrases = self._stored()
        if stored:
            in_force = in_force.with_texts({(r.role, r.language): r.text for r in stored})
        own = {language: _own(entity) for language, entity in phrases.items()}
        return in_force.with_phrases({k: v for k, v in own.items() if v}) if any(own.values()) else in_force

    # -- phrases -----------------------------------------------------------------------------

    def _phrase_record(self, entity: Mapping[str, Any] | None, language: str,
                       default_language: str) -> PhraseRecord:
        own = _own(entity) if entity is not None else {}
        base = phrase_base(language, default_language)
        if entity is None:
            return PhraseRecord(language, {}, dict(base), 0)
        return PhraseRecord(language, own, {**base, **own}, int(entity["Version"]),
                            entity.get("UpdatedBy") or None, entity.get("UpdatedAt"))

    def phrases(self, language: str, default_language: str = "en") -> PhraseRecord:
        """A language's phrases in force: its newest stored version over the built-in ones (version 0 when none)."""
        from azure.core.exceptions import ResourceNotFoundError

        language = check_language(language)
        try:
            entity: Mapping[str, Any] | None = self._table.get_entity(CURRENT, _pair(PHRASES_KIND, language))
        except ResourceNotFoundError:
            entity = None
        return self._phrase_record(entity, language, default_language)

    def stored_phrases(self, default_language: str = "en") -> list[PhraseRecord]:
        """The newest stored phrases of every language that has some, by language."""
        return [self._phrase_record(e, language, default_language)
                for language, e in sorted(self._stored()[1].items())]

    def phrase_versions(self, language: str, default_language: str = "en") -> list[PhraseRecord]:
        """Every stored version of a language's phrases, newest first, then the built-in ones (version 0)."""
        language = check_language(language)
        rows = self._table.query_entities("PartitionKey eq @pk",
                                          parameters={"pk": "v|" + _pair(PHRASES_KIND, language)})
        found = [self._phrase_record(e, language, default_language) for e in rows]
        return [*found, self._phrase_record(None, language, default_language)]

    def put_phrases(self, language: str, changes: Mapping[str, str | None], actor: str) -> int:
        """Store a new version of a language's phrases: `changes` over the newest stored ones (None: built-in again).

        Keys left out keep their current text. Refuses unknown keys and what check_phrase
        refuses (TemplateNotSaved, each problem naming `phrases.<key>`).
        """
        language = check_language(language)
        if not changes:
            raise TemplateNotSaved([{"field": "phrases", "line": None, "message": "has no phrase to change",
                                     "fix": f"give at least one of: {', '.join(PHRASES)}"}])
        problems = phrase_problems(changes)
        if problems:
            raise TemplateNotSaved(problems)

        def build(newest: Mapping[str, Any] | None) -> dict[str, Any]:
            own = {**(_own(newest) if newest is not None else {}), **changes}
            kept = {name: text for name, text in own.items() if text is not None}
            return {"Kind": PHRASES_KIND, "Language": language,
                    "Phrases": json.dumps(dict(sorted(kept.items())), ensure_ascii=False)}

        return self._save(_pair(PHRASES_KIND, language), build, actor, ["Version", "Phrases"],
                          f"The phrases in {language} were being saved by others at the same moment; save again.")

    def get(self, role: str, language: str) -> TemplateRecord | None:
        """The template in force for the pair: its newest stored version, else the built-in text, else None."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return _record(self._table.get_entity(CURRENT, _pair(role, language)))
        except ResourceNotFoundError:
            pass
        text = TemplateSet.builtin().texts.get((role, language))
        return TemplateRecord(role, language, text.subject, text.body, 0) if text is not None else None

    def version(self, role: str, language: str, version: int) -> TemplateRecord | None:
        from azure.core.exceptions import ResourceNotFoundError

        if version == 0:
            text = TemplateSet.builtin().texts.get((role, language))
            return TemplateRecord(role, language, text.subject, text.body, 0) if text is not None else None
        try:
            return _record(self._table.get_entity("v|" + _pair(role, language), _inverted(version)))
        except ResourceNotFoundError:
            return None

    def versions(self, role: str, language: str) -> list[TemplateRecord]:
        """Every stored version of the pair, newest first (the built-in text, version 0, last when there is one)."""
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": "v|" + _pair(role, language)})
        found = [_record(e) for e in rows]
        text = TemplateSet.builtin().texts.get((role, language))
        if text is not None:
            found.append(TemplateRecord(role, language, text.subject, text.body, 0))
        return found

    def languages(self, default_language: str = "en") -> list[str]:
        """Every language that has a template, built-in or stored."""
        pairs: Iterable[tuple[str, str]] = list(TemplateSet.builtin(default_language).texts) + [
            (r.role, r.language) for r in self.stored()]
        return sorted({language for _role, language in pairs})

    # -- changing --------------------------------------------------------------------------

    def put(self, role: str, language: str, text: TemplateText, actor: str) -> int:
        """Store a new version after the checks; its number. Refuses what check_template refuses (TemplateNotSaved)."""
        role = check_role(role)
        language = check_language(language)
        problems = template_problems(role, language, text)
        if problems:
            raise TemplateNotSaved(problems)
        fields = {"Role": role, "Language": language, "Subject": text.subject, **_pieces(text.body)}
        return self._save(_pair(role, language), lambda _newest: fields, actor, ["Version"],
                          f"The {role} template in {language} was being saved by others at the same moment; "
                          "save again.")

    def _save(self, pair: str, build: Callable[[Mapping[str, Any] | None], dict[str, Any]], actor: str,
              select: list[str], conflict: str) -> int:
        """Store the next version of `pair` (its fields built from the newest one) and put it in force.

        The version row is created first (a create fails if another save took the number), then
        the current row is moved to it with its ETag, so two saves at once get two versions and
        the newer one is in force.
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        history = "v|" + pair
        for _attempt in range(_ATTEMPTS):
            newest = next(iter(self._table.query_entities("PartitionKey eq @pk", parameters={"pk": history},
                                                          results_per_page=1, select=select)), None)
            number = int(newest["Version"]) + 1 if newest is not None else 1
            entity: dict[str, Any] = {
                **build(newest), "Version": number, "UpdatedBy": actor[:256], "UpdatedAt": self._clock(),
            }
            try:
                self._table.create_entity({"PartitionKey": history, "RowKey": _inverted(number), **entity})
            except ResourceExistsError:
                continue  # another save took this number: look again
            for _move in range(_ATTEMPTS):
                try:
                    head = self._table.get_entity(CURRENT, pair)
                except ResourceNotFoundError:
                    head = None
                if head is not None and int(head["Version"]) >= number:
                    return number  # a later save is already in force; this version stays in the history
                row = {"PartitionKey": CURRENT, "RowKey": pair, **entity}
                try:
                    if head is None:
                        self._table.create_entity(row)
                    else:
                        self._table.update_entity(row, mode=UpdateMode.REPLACE, etag=head.metadata["etag"],
                                                  match_condition=MatchConditions.IfNotModified)
                    return number
                except (ResourceExistsError, ResourceModifiedError):
                    continue
            break
        raise TemplateConflict(conflict)
