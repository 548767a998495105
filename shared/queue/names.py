"""The names of the installation's queues, and the app settings the function app's triggers read them from.

Every queue is named after the table prefix (LEARNCAL_TABLE_PREFIX), so installations sharing a
storage account never read each other's messages: the default prefix `Learncal` gives
`learncal-send`, `learncal-runs`, `learncal-jobs`, `learncal-webhooks` and `learncal-responses`;
a prefix `Contoso2` gives `contoso2-send` and so on. The product sends to these names.

The function app's queue triggers cannot compute a name, so they take it from an app setting
through a binding expression (`queue_name="%LEARNCAL_SEND_QUEUE%"`), which the Functions host
resolves from the app settings when it indexes the functions
(https://learn.microsoft.com/azure/azure-functions/functions-bindings-expressions-patterns
"Binding expressions - app settings"). A setting that is missing leaves the function out: the
host logs "'%LEARNCAL_SEND_QUEUE%' does not resolve to a value" and never runs it. The Bicep
sets each setting from the same table prefix; `problems` finds a setting that is missing (in
Azure) or names another queue than the product sends to, for the health report and Validate.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.errors import ConfigurationError

if TYPE_CHECKING:
    from shared.store.tables import Tables

SEND_QUEUE = "learncal-send"
RUNS_QUEUE = "learncal-runs"
JOBS_QUEUE = "learncal-jobs"
WEBHOOKS_QUEUE = "learncal-webhooks"
RESPONSES_QUEUE = "learncal-responses"
POISON_SUFFIX = "-poison"  # the Functions host's poison queue: <queue>-poison


@dataclass(frozen=True)
class QueueSetting:
    setting: str  # the app setting the trigger's binding expression names
    base: str  # the queue's name under the default prefix
    function: str  # the function app's function triggered by it


QUEUE_SETTINGS: tuple[QueueSetting, ...] = (
    QueueSetting("LEARNCAL_SEND_QUEUE", SEND_QUEUE, "send_worker"),
    QueueSetting("LEARNCAL_RUNS_QUEUE", RUNS_QUEUE, "run_worker"),
    QueueSetting("LEARNCAL_JOBS_QUEUE", JOBS_QUEUE, "job_worker"),
    QueueSetting("LEARNCAL_WEBHOOKS_QUEUE", WEBHOOKS_QUEUE, "webhook_worker"),
    QueueSetting("LEARNCAL_RESPONSES_QUEUE", RESPONSES_QUEUE, "responses_worker"),
)
_BY_SETTING = {q.setting: q for q in QUEUE_SETTINGS}
_EXPRESSION = re.compile(r"%(?P<name>[A-Za-z_][A-Za-z0-9_]*)%")


def queue_name(prefix: str | Tables, base: str = SEND_QUEUE) -> str:
    """The queue `base` of the installation whose tables have `prefix` (the prefix, or the tables).

    A queue name is lower case, 3 to 63 characters; the poison queue's suffix must fit too.
    """
    text = prefix if isinstance(prefix, str) else prefix.prefix
    return f"{text.lower()}-{base.removeprefix('learncal-')}"[:63 - len(POISON_SUFFIX)]


def resolve(expression: str, prefix: str, env: Mapping[str, str] | None = None) -> str:
    """A trigger's queue name as the Functions host resolves it: `%NAME%` is the app setting NAME.

    Off Azure, a queue setting left unset resolves to the name the product sends to (the
    local hosts need no extra configuration); in Azure the Bicep sets it.
    """
    env = os.environ if env is None else env
    match = _EXPRESSION.fullmatch(expression)
    if match is None:
        return expression
    name = match["name"]
    value = (env.get(name) or "").strip()
    if value:
        return value
    if name in _BY_SETTING:
        return queue_name(prefix, _BY_SETTING[name].base)
    raise ConfigurationError(f"The app setting {name} is not set; a queue trigger reads its queue name from it "
                             f"({expression}). Set {name} to the queue's name.")


def problems(prefix: str, env: Mapping[str, str] | None = None, *, in_azure: bool = False) -> list[str]:
    """What keeps a queue trigger from receiving what the product sends, each with its fix."""
    env = os.environ if env is None else env
    found: list[str] = []
    for queue in QUEUE_SETTINGS:
        wanted = queue_name(prefix, queue.base)
        value = (env.get(queue.setting) or "").strip()
        if value and value != wanted:
            found.append(
                f"{queue.setting}={value!r}, but with LEARNCAL_TABLE_PREFIX={prefix!r} the product sends to "
                f"{wanted!r}, so {queue.function} would never see its messages. Set {queue.setting}={wanted} "
                "(the Bicep sets it from the tablePrefix parameter: run `azd provision` again)."
            )
        elif not value and in_azure:
            found.append(
                f"{queue.setting} is not set, so the Functions host does not run {queue.function} "
                f"(\"'%{queue.setting}%' does not resolve to a value\"). Set {queue.setting}={wanted} "
                "(the Bicep sets it from the tablePrefix parameter: run `azd provision` again)."
            )
    return found
