"""Every queue-triggered function of the function app, for the local queue host (shared/local/queue_host.py).

`learncal serve`, `learncal demo`, the benchmark and the tests run the app's queue consumers on
this machine; they all take them from here, so a consumer added to function_app.py (a webhook
or a responses queue, say) is added once, below, and runs everywhere. Each consumer calls the
same code its trigger in function_app.py calls, with the installation's own settings and
tables instead of the process environment, and is listed under the queue name its trigger's
binding expression resolves to (shared/queue/names.py).

A test holds `CONSUMERS` equal to the queue triggers function_app.py declares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.queue.names import JOBS_QUEUE, RESPONSES_QUEUE, RUNS_QUEUE, SEND_QUEUE, WEBHOOKS_QUEUE, queue_name
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.admin.context import Services
    from shared.store.tables import Tables

QueueFunction = Callable[[Any], None]


@dataclass(frozen=True)
class Consumer:
    function: str  # the function's name in function_app.py
    queue: str  # its queue under the default prefix (learncal-send, ...)


# One entry per queue trigger in function_app.py.
CONSUMERS: tuple[Consumer, ...] = (
    Consumer("send_worker", SEND_QUEUE),
    Consumer("run_worker", RUNS_QUEUE),
    Consumer("job_worker", JOBS_QUEUE),
    Consumer("webhook_worker", WEBHOOKS_QUEUE),
    Consumer("responses_worker", RESPONSES_QUEUE),
)


def local_functions(settings: Settings, *, tables: Tables | None = None,
                    services: Services | None = None) -> dict[str, QueueFunction]:
    """Queue name -> consumer, for every queue trigger of the function app.

    `services`: the admin services runs and jobs are performed with (tests bring their own);
    None takes the process's own (shared/admin/context.py), as the triggers in Azure do.
    `tables`: the tables the send worker drains (default: those of `services`, else of `settings`).
    """
    if services is not None:
        settings, tables = services.settings, tables or services.tables
    prefix = tables.prefix if tables is not None else settings.table_prefix

    def current() -> Services:
        if services is not None:
            return services
        from shared.admin.context import services as process_services

        return process_services()

    def send_worker(msg: Any) -> None:
        from shared.bootstrap import send_queued

        send_queued(msg.get_body().decode("utf-8"), dequeue_count=msg.dequeue_count or 1, settings=settings,
                    tables=tables)

    def run_worker(msg: Any) -> None:
        from shared.runs.worker import handle

        handle(msg, current().app)

    def job_worker(msg: Any) -> None:
        from shared.admin.jobs import run_job_message

        run_job_message(msg.get_body(), current())

    def webhook_worker(msg: Any) -> None:
        from shared.responses.webhook import deliver

        deliver(settings, msg.get_body().decode("utf-8"), dequeue_count=msg.dequeue_count or 1)

    def responses_worker(msg: Any) -> None:
        from shared.responses.runner import handle_task

        handle_task(msg.get_body().decode("utf-8"), settings)

    made: dict[str, QueueFunction] = {"send_worker": send_worker, "run_worker": run_worker, "job_worker": job_worker,
                                      "webhook_worker": webhook_worker, "responses_worker": responses_worker}
    return {queue_name(prefix, consumer.queue): made[consumer.function] for consumer in CONSUMERS}
