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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.errors import LearncalError
from shared.provider.errors import InvalidInput
from shared.store.tables import Tables, key_part
from shared.templates.languages import normalize_language
from shared.templates.model import TEMPLATE_ROLES, TemplateSet, TemplateText

CURRENT = "current"
MAX_SUBJECT = 1_000  # the template's own text; the rendered subject is cut to Exchange's 255 when rendered
MAX_BODY = 32_000
PIECE = 16_000  # characters per property: at most 32,000 UTF-16 code units, inside the 64 KiB limit
_PIECES = -(-MAX_BODY // PIECE)
_INVERT = 10**10
_ATTEMPTS = 10


class TemplateNotSaved(InvalidInput):
    """A template the checks or a size limit refuse; `problems` (and `errors`) are {field, line, message, fix}."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems
        super().__init__([dict(p) for p in problems])


class TemplateConflict(LearncalError):
    """Others saved the same template at the same moment on every attempt (try again)."""


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
        body: dict[str, Any] = {
            "role": self.role, "language": self.language, "version": self.version,
            "source": "builtin" if self.builtin else "stored",
            "updatedBy": self.updated_by,
            "updatedAt": self.updated_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
            if self.updated_at else None,
        }
        if with_text:
            body.update(subject=self.subject, body=self.body)
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
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": CURRENT})
        return sorted((_record(e) for e in rows), key=lambda r: (r.role, r.language))

    def current(self, default_language: str = "en") -> TemplateSet:
        """The set in force: the built-in texts, each overridden by its newest stored version."""
        builtin = TemplateSet.builtin(default_language)
        stored = self.stored()
        return builtin.with_texts({(r.role, r.language): r.text for r in stored}) if stored else builtin

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
        """Store a new version after the checks; its number. Refuses what check_template refuses (TemplateNotSaved).

        The version row is created first (a create fails if another save took the number), then
        the current row is moved to it with its ETag, so two saves at once get two versions and
        the newer one is in force.
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        role = check_role(role)
        language = check_language(language)
        problems = template_problems(role, language, text)
        if problems:
            raise TemplateNotSaved(problems)
        history = "v|" + _pair(role, language)
        for _attempt in range(_ATTEMPTS):
            newest = next(iter(self._table.query_entities("PartitionKey eq @pk", parameters={"pk": history},
                                                          results_per_page=1, select=["Version"])), None)
            number = int(newest["Version"]) + 1 if newest is not None else 1
            entity: dict[str, Any] = {
                "Role": role, "Language": language, "Version": number, "Subject": text.subject,
                "UpdatedBy": actor[:256], "UpdatedAt": self._clock(), **_pieces(text.body),
            }
            try:
                self._table.create_entity({"PartitionKey": history, "RowKey": _inverted(number), **entity})
            except ResourceExistsError:
                continue  # another save took this number: look again
            for _move in range(_ATTEMPTS):
                try:
                    head = self._table.get_entity(CURRENT, _pair(role, language))
                except ResourceNotFoundError:
                    head = None
                if head is not None and int(head["Version"]) >= number:
                    return number  # a later save is already in force; this version stays in the history
                row = {"PartitionKey": CURRENT, "RowKey": _pair(role, language), **entity}
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
        raise TemplateConflict(f"The {role} template in {language} was being saved by others at the same moment; "
                               "save again.")
