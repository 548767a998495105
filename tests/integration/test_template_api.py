"""The template routes and the roll-out through the admin API, over the sandbox tenant and Azurite.

Expected counts come from the feed written here (who is enrolled in which session), and what
people received is read from the sandbox's own inspection endpoints, never from the product.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import conftest_admin
from conftest_admin import World, payload, principal, request

from shared.store.offerings import OfferingStore
from shared.templates.model import TemplateSet
from tests.support.feeds import base_feed, offering, write

running_sandbox = conftest_admin.running_sandbox
world = conftest_admin.world

READER = principal(["LearningCalendar.Reader"], "rea.der@contoso.example")
MARKUP = '<script>alert("x")</script><b>bold</b> & "quoted"'
BUILTIN = TemplateSet.builtin("en")


def edited(marker: str, role: str = "learner", language: str = "en") -> dict[str, str]:
    text = BUILTIN.texts[(role, language)]
    return {"subject": f"{marker} {text.subject}",
            "body": text.body.replace("</body>", f"<p>{marker} paragraph: {{{{ offering_title }}}}</p></body>")}


def put(world: World, role: str, language: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return world.call("template", request("PUT", f"templates/{role}/{language}", body, headers=headers,
                                          route_params={"role": role, "language": language}))


def get(world: World, role: str, language: str, query: str = "", headers: dict[str, str] | None = None) -> Any:
    return world.call("template", request("GET", f"templates/{role}/{language}{query}", headers=headers,
                                          route_params={"role": role, "language": language}))


def learner_invitations(feed: dict[str, Any]) -> Counter[str]:
    """Each active learner's sessions in the feed: the invitations they hold (the test's own oracle)."""
    held: Counter[str] = Counter()
    for item in feed["offerings"]:
        learners = {e["learnerEmail"].lower() for e in item.get("enrollments", []) if e.get("status") == "active"}
        for learner in learners:
            held[learner] += len(item["activities"])
    return held


def instructors(feed: dict[str, Any]) -> set[str]:
    return {i["email"].lower() for o in feed["offerings"] for a in o["activities"] for i in a.get("instructors", [])}


def received(world: World, people: set[str] | list[str]) -> dict[str, Counter[str]]:
    return {person: Counter(m["type"] for m in world.sandbox.messages(person)) for person in people}


def test_templates_are_listed_saved_as_versions_read_back_and_audited(world: World) -> None:
    listed = world.call("templates", request("GET", "templates", headers=READER))
    assert listed.status_code == 200, listed.get_body()
    rows = {(r["role"], r["language"]): r for r in payload(listed)["value"]}
    assert rows[("learner", "en")]["source"] == "builtin" and rows[("learner", "en")]["version"] == 0

    first, second = put(world, "learner", "de", edited("Einladung")), put(world, "learner", "de", edited("Termin"))

    assert (first.status_code, second.status_code) == (200, 200), second.get_body()
    assert (payload(first)["version"], payload(second)["version"]) == (1, 2)
    shown = get(world, "learner", "de", headers=READER)
    assert shown.status_code == 200
    body = payload(shown)
    assert (body["version"], body["subject"], body["updatedBy"]) == (2, edited("Termin")["subject"],
                                                                     "admin@contoso.example")
    assert [v["version"] for v in body["versions"]][:2] == [2, 1]
    older = payload(get(world, "learner", "de", "?version=1"))
    assert (older["subject"], older["body"]) == (edited("Einladung")["subject"], edited("Einladung")["body"])
    listed_after = {(r["role"], r["language"]): r for r in payload(world.call("templates", request(
        "GET", "templates")))["value"]}
    assert listed_after[("learner", "de")]["source"] == "stored" and listed_after[("learner", "de")]["version"] == 2
    assert put(world, "learner", "de", edited("Lesen"), headers=READER).status_code == 403

    entries = payload(world.call("audit_trail", request("GET", "audit")))["value"]
    saves = [e for e in entries if e["action"] == "template.set"]
    assert [(e["target"], e["changes"]["version"], e["actor"]) for e in saves] == [
        ("learner/de", 2, "admin@contoso.example"), ("learner/de", 1, "admin@contoso.example")]


def test_a_refused_template_answers_422_with_the_line_and_the_fix_and_stores_nothing(world: World) -> None:
    text = BUILTIN.texts[("learner", "en")]
    bad = {"subject": text.subject, "body": "<p>Hello</p>\n\n<p>{{ no_such_placeholder }}</p>"}

    response = put(world, "learner", "en", bad)

    assert response.status_code == 422, response.get_body()
    problem = payload(response)
    found = problem["problems"]
    assert found[0]["field"] == "body" and found[0]["line"] == 3 and found[0]["fix"]
    assert problem["errors"] == found
    assert payload(get(world, "learner", "en"))["version"] == 0
    unknown_role = put(world, "student", "en", edited("x"))
    assert unknown_role.status_code == 422 and "role" in unknown_role.get_body().decode()


def test_the_preview_renders_a_real_offering_with_feed_text_escaped(world: World, tmp_path: Path) -> None:
    feed = base_feed()
    offering(feed, "OFF-2002")["title"] = MARKUP
    services = world.services(feed=write(feed, tmp_path / "feed.json"))

    response = world.call("template_preview", request("POST", "templates/preview", {
        "role": "learner", "language": "en", **edited("Preview"), "offeringId": "OFF-2002"}, headers={
            **READER, "X-Learncal-Request": "1"}), services)

    assert response.status_code == 200, response.get_body()
    shown = payload(response)
    assert shown["problems"] == [] and shown["offeringId"] == "OFF-2002"
    assert shown["subject"].startswith("Preview ")
    assert "<p>Preview paragraph: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp; " in (
        shown["body"])
    assert "<script>" not in shown["body"] and "<b>bold" not in shown["body"]
    missing = world.call("template_preview", request("POST", "templates/preview", {
        "role": "learner", "language": "en", "offeringId": "OFF-NOPE"}), services)
    assert missing.status_code == 404


def test_an_edit_sends_nothing_until_rolled_out_then_one_update_per_invitation(world: World, tmp_path: Path) -> None:
    feed = base_feed()
    services = world.services(feed=write(feed, tmp_path / "feed.json"))
    first = world.sync({}, services)
    assert first["state"] == "completed" and first["sent"] > 0, first
    expected = learner_invitations(feed)
    teachers = instructors(feed)
    before = received(world, [*expected, *teachers])

    assert put(world, "learner", "en", edited("Rolled")).status_code == 200
    quiet = world.sync({}, services)

    assert (quiet["state"], quiet["sent"]) == ("completed", 0), quiet
    assert received(world, [*expected, *teachers]) == before

    counted = world.call("rollout", request("POST", "rollout", {"dryRun": True}), services)
    assert counted.status_code == 200, counted.get_body()
    count = payload(counted)
    with_learners = [o for o in feed["offerings"] if any(e.get("status") == "active" for e in o["enrollments"])]
    assert (count["updates"], count["offerings"], count["runId"]) == (sum(expected.values()), len(with_learners), None)
    assert all(s.reconcile_requested_at is None for s in OfferingStore(world.tables).all().values())

    started = world.call("rollout", request("POST", "rollout", {}), services)
    assert started.status_code == 202, started.get_body()
    run_id = payload(started)["runId"]
    assert started.headers["Location"] == f"/api/runs/{run_id}"
    world.drain_runs(services)
    run = world.follow(run_id, services)

    assert (run["state"], run["sent"]) == ("completed", count["updates"]), run
    after = received(world, [*expected, *teachers])
    for learner, invitations in expected.items():
        assert after[learner] - before[learner] == Counter({"meetingUpdate": invitations}), learner
    for teacher in teachers:
        assert after[teacher] == before[teacher], teacher
    for learner in expected:
        subjects = [e["subject"] for e in world.sandbox.calendar(learner)]
        assert len(subjects) == expected[learner] and all(s.startswith("Rolled ") for s in subjects), subjects
    assert all(s.reconcile_requested_at is None for s in OfferingStore(world.tables).all().values())
    entries = payload(world.call("audit_trail", request("GET", "audit")))["value"]
    rollouts = [e for e in entries if e["action"] == "rollout.start"]
    assert len(rollouts) == 1 and (rollouts[0]["changes"]["updates"], rollouts[0]["changes"]["offerings"]) == (
        count["updates"], len(with_learners))

    again = payload(world.call("rollout", request("POST", "rollout", {"dryRun": True}), services))
    assert (again["updates"], again["offerings"]) == (0, 0)


def test_the_default_language_is_saved_with_the_provider_and_used_for_people_without_one(
    world: World, tmp_path: Path,
) -> None:
    from conftest_admin import provider_body

    saved = world.call("provider", request("PUT", "provider", provider_body(world, defaultLanguage="de-ch")))
    assert saved.status_code == 200, saved.get_body()
    assert payload(saved)["defaultLanguage"] == "de-CH"
    refused = world.call("provider", request("PUT", "provider", provider_body(world, defaultLanguage="xx-nowhere-1")))
    assert refused.status_code == 422 and payload(refused)["errors"][0]["field"] == "defaultLanguage"
    kept = world.call("provider", request("PUT", "provider", provider_body(world)))
    assert payload(kept)["defaultLanguage"] == "de-CH"  # left out: the stored value stays
    assert put(world, "learner", "de", edited("Standard")).status_code == 200

    feed = base_feed()  # nobody in it names a language
    run = world.sync({}, world.services(feed=write(feed, tmp_path / "feed.json")))

    assert run["state"] == "completed" and run["sent"] > 0, run
    for learner in learner_invitations(feed):
        events = world.sandbox.calendar(learner)
        assert events and all(e["subject"].startswith("Standard ") for e in events), learner
        assert all("Standard paragraph" in e["body"]["content"] for e in events), learner
    listed = payload(world.call("templates", request("GET", "templates")))
    assert listed["defaultLanguage"] == "de-CH"


def put_phrases(world: World, language: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return world.call("template", request("PUT", f"templates/phrases/{language}", body, headers=headers,
                                          route_params={"role": "phrases", "language": language}))


def test_phrases_are_read_saved_partially_refused_with_key_line_and_fix_and_audited(world: World) -> None:
    shown = world.call("template", request("GET", "templates/phrases/es", headers=READER,
                                           route_params={"role": "phrases", "language": "es"}))
    assert shown.status_code == 200, shown.get_body()
    assert (payload(shown)["version"], payload(shown)["phrases"]["cancel.withdrew"]) == (
        0, "You withdrew from this offering.")

    saved = put_phrases(world, "es", {"phrases": {"cancel.withdrew": "Te has dado de baja de «{{ offering_title }}»."}})
    again = put_phrases(world, "es", {"phrases": {"online": "En línea"}})

    assert (saved.status_code, again.status_code) == (200, 200), again.get_body()
    body = payload(again)
    assert body["version"] == 2
    assert body["phrases"]["cancel.withdrew"] == "Te has dado de baja de «{{ offering_title }}»."
    assert body["phrases"]["online"] == "En línea"
    assert body["phrases"]["cancel.sessionCancelled"] == "This session was cancelled."
    listed = payload(world.call("templates", request("GET", "templates")))
    listed_es = next(p for p in listed["phrases"] if p["language"] == "es")
    assert (listed_es["version"], listed_es["source"]) == (2, "stored")

    unknown_key = put_phrases(world, "es", {"phrases": {"cancel.gone": "x"}})
    assert unknown_key.status_code == 422
    assert payload(unknown_key)["problems"][0]["field"] == "phrases.cancel.gone"
    assert "cancel.withdrew" in payload(unknown_key)["problems"][0]["fix"]
    placeholder = put_phrases(world, "es", {"phrases": {"cancel.withdrew": "Adiós {{ sesion_title }}"}})
    problem = payload(placeholder)["problems"][0]
    assert (placeholder.status_code, problem["field"], problem["line"]) == (422, "phrases.cancel.withdrew", 1)
    assert "offering_title" in problem["fix"] and "sesion_title" in problem["message"]
    markup = put_phrases(world, "es", {"phrases": {"online": "<b>En línea</b>"}})
    assert markup.status_code == 422 and "markup" in payload(markup)["problems"][0]["message"]
    assert put_phrases(world, "es", {"phrases": {"online": "x"}}, headers=READER).status_code == 403

    entries = payload(world.call("audit_trail", request("GET", "audit")))["value"]
    saves = [(e["target"], e["changes"]["version"]) for e in entries if e["action"] == "template.set"]
    assert saves == [("phrases/es", 2), ("phrases/es", 1)]


def test_the_phrase_answers_are_those_the_openapi_document_describes(world: World) -> None:
    from jsonschema import Draft202012Validator

    from shared.admin.openapi import document

    doc = document()
    operations = doc["paths"]["/templates/phrases/{language}"]

    def check(answer: Any, method: str, status: str) -> None:
        content = operations[method]["responses"][status]["content"]
        schema = next(iter(content.values()))["schema"]
        Draft202012Validator({**schema, "components": doc["components"]}).validate(payload(answer))

    shown = world.call("template", request("GET", "templates/phrases/de", headers=READER,
                                           route_params={"role": "phrases", "language": "de"}))
    saved = put_phrases(world, "de", {"phrases": {"online": "Online-Sitzung"}})
    refused = put_phrases(world, "de", {"phrases": {"online": "{{ offering_title }}", "cancel.bye": "x"}})
    listed = world.call("templates", request("GET", "templates"))

    assert (shown.status_code, saved.status_code, refused.status_code, listed.status_code) == (200, 200, 422, 200)
    check(shown, "get", "200")
    check(saved, "put", "200")
    check(refused, "put", "422")
    assert [p["field"] for p in payload(refused)["problems"]] == ["phrases.cancel.bye", "phrases.online"]
    Draft202012Validator({"$ref": "#/components/schemas/TemplateList", "components": doc["components"]}).validate(
        payload(listed))
    assert "PhrasesInput" in operations["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
