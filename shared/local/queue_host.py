"""A local stand-in for the Functions host's queue trigger, over Azurite's queue service.

It does what the host does for a queue-triggered function, as the queue trigger documentation
describes it (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger
"Polling algorithm", "Poison messages", "Concurrency"; host.json settings at
https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json):
- polling: after a message it looks again at once; an empty queue is asked again after a short
  wait that grows (doubling, with some randomness) up to `max_polling_interval` (the host's
  `maxPollingInterval`, one minute by default);
- a batch of up to `batch_size` messages is taken at a time and run concurrently; a new batch is
  fetched once no more than `new_batch_threshold` are still running;
- a message is invisible to other readers while its function runs; it is deleted when the
  function returns, and made visible again after `visibility_timeout` when the function raises;
- a message whose dequeue count reached `max_dequeue_count` (5) and failed again is moved to
  the poison queue `<queue>-poison` (as is one seen more often than that, e.g. after crashes);
- the function receives an `azure.functions.QueueMessage` with the decoded body, id, pop
  receipt, dequeue count and times, as the Python worker builds it.
The bench, the demo, the tests and `learncal serve` run the product's functions with it.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from shared.queue.wakeup import POISON_SUFFIX
from shared.settings import Settings

log = logging.getLogger("learncal.local.queue")

QueueFunction = Callable[[Any], None]


@dataclass(frozen=True)
class HostOptions:
    """host.json `extensions.queues`, in seconds (see the module docstring's links)."""

    max_polling_interval: float = 60.0
    min_polling_interval: float = 0.1
    visibility_timeout: float = 0.0  # between a failed attempt and the next
    batch_size: int = 1
    new_batch_threshold: int = 0
    max_dequeue_count: int = 5
    # a message stays invisible this long while its function runs: host.json's functionTimeout (the host
    # keeps a running function's message invisible; a send-worker slice lasts up to 29 minutes)
    processing_visibility: int = 1800


class QueueHost:
    """Polls each named queue and calls its function; `start()` / `stop()` run it on threads."""

    def __init__(self, settings: Settings, functions: Mapping[str, QueueFunction],
                 options: HostOptions | None = None) -> None:
        self._settings = settings
        self._functions = dict(functions)
        self.options = options or HostOptions()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.invocations = 0
        self.failures = 0
        self.poisoned = 0
        self._count_lock = threading.Lock()

    # -- running -------------------------------------------------------------------------------

    def start(self) -> QueueHost:
        for name in self._functions:
            thread = threading.Thread(target=self._listen, args=(name,), name=f"queue-host-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)
        self._threads.clear()

    def __enter__(self) -> QueueHost:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def run_once(self, name: str) -> int:
        """Fetch one batch of `name` now and run it to the end (tests that step the host by hand)."""
        queue, poison = self._clients(name)
        futures = self._dispatch(name, queue, poison, None)
        for future in futures:
            future.result()
        return len(futures)

    # -- the host's loop -------------------------------------------------------------------------

    def _clients(self, name: str) -> tuple[Any, Any]:
        from azure.core.exceptions import ResourceExistsError

        from shared.store.services import queue_client

        clients = (queue_client(self._settings, name), queue_client(self._settings, name + POISON_SUFFIX))
        for client in clients:
            with contextlib.suppress(ResourceExistsError):
                client.create_queue()
        return clients

    def _listen(self, name: str) -> None:
        queue, poison = self._clients(name)
        options = self.options
        running: set[Future[None]] = set()
        lock = threading.Lock()
        wait = options.min_polling_interval
        with ThreadPoolExecutor(max_workers=options.batch_size + options.new_batch_threshold,
                                thread_name_prefix=f"queue-fn-{name}") as pool:
            while not self._stop.is_set():
                with lock:
                    busy = len(running)
                if busy > options.new_batch_threshold:
                    self._stop.wait(0.05)
                    continue
                try:
                    futures = self._dispatch(name, queue, poison, pool)
                except Exception:  # storage unreachable: back off as for an empty queue
                    log.warning("could not read queue %s", name, exc_info=True)
                    futures = []
                if futures:
                    wait = options.min_polling_interval
                    with lock:
                        running.update(futures)
                    for future in futures:
                        future.add_done_callback(lambda f: _discard(lock, running, f))
                    continue
                self._stop.wait(wait * random.uniform(0.8, 1.2))
                wait = min(options.max_polling_interval, max(options.min_polling_interval * 2, wait * 2))

    def _dispatch(self, name: str, queue: Any, poison: Any, pool: ThreadPoolExecutor | None) -> list[Future[None]]:
        messages = list(queue.receive_messages(messages_per_page=self.options.batch_size,
                                               max_messages=self.options.batch_size,
                                               visibility_timeout=self.options.processing_visibility))
        futures: list[Future[None]] = []
        for message in messages:
            if message.dequeue_count > self.options.max_dequeue_count:
                self._poison(name, queue, poison, message)
                continue
            if pool is None:
                future: Future[None] = Future()
                self._invoke(name, queue, poison, message)
                future.set_result(None)
            else:
                future = pool.submit(self._invoke, name, queue, poison, message)
            futures.append(future)
        return futures

    def _invoke(self, name: str, queue: Any, poison: Any, message: Any) -> None:
        import azure.functions as func
        from azure.functions.queue import QueueMessage

        incoming: func.QueueMessage = QueueMessage(
            id=message.id, body=str(message.content).encode("utf-8"), dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on, insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on, pop_receipt=message.pop_receipt,
        )
        with self._count_lock:
            self.invocations += 1
        try:
            self._functions[name](incoming)
        except Exception:
            with self._count_lock:
                self.failures += 1
            log.warning("function for queue %s failed (dequeue count %d)", name, message.dequeue_count,
                        exc_info=True)
            if message.dequeue_count >= self.options.max_dequeue_count:
                self._poison(name, queue, poison, message)
                return
            with contextlib.suppress(Exception):
                queue.update_message(message.id, message.pop_receipt,
                                     visibility_timeout=int(self.options.visibility_timeout))
            return
        with contextlib.suppress(Exception):  # already gone: another reader finished it after a timeout
            queue.delete_message(message.id, message.pop_receipt)

    def _poison(self, name: str, queue: Any, poison: Any, message: Any) -> None:
        poison.send_message(str(message.content))
        queue.delete_message(message.id, message.pop_receipt)
        with self._count_lock:
            self.poisoned += 1
        log.error("message %s of queue %s moved to %s after %d attempts", message.id, name, name + POISON_SUFFIX,
                  message.dequeue_count)


def _discard(lock: threading.Lock, running: set[Future[None]], future: Future[None]) -> None:
    with lock:
        running.discard(future)
