"""Asynchronous REST requests: ``Prefer: respond-async`` jobs and idempotency keys.

NetSuite queues an async request and answers 202 with the job's URL; the client polls
``/services/rest/async/v1/job/{id}``, then the job's task, then the task's result,
which is the answer the synchronous request would have had. The emulator runs the
request at once (so its effect is committed, as a queued job's would be by the time it
reports success) and reports the job as pending until ``delay`` seconds of emulator time
have passed, so polling loops are exercised.

``X-NetSuite-Idempotency-Key`` (a UUID) is honoured on async requests only: a key seen
before answers 400 ``IDEMPOTENCY_ERROR`` naming the job that already ran it, which is
how a client that lost the 202 finds its job.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from erpsync.netsuite import wire
from erpsync.testing.core.wire import WireResponse
from erpsync.testing.netsuite.errors import NetSuiteFault, not_found


@dataclass
class Job:
    id: int
    submitted: float
    response: WireResponse
    idempotency_key: str | None


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AsyncJobs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {}
        self._by_key: dict[str, int] = {}
        self._next = 0
        #: Seconds (of emulator time) a job reports ``pending`` before ``succeeded``.
        self.delay = 0.0

    def check_key(self, key: str | None) -> str | None:
        """The normalised key, or the 400 NetSuite sends for a reused or malformed one."""
        if key is None or not key.strip():
            return None
        try:
            normalised = str(uuid.UUID(key.strip()))
        except ValueError:
            raise NetSuiteFault(
                400,
                "INVALID_CONTENT",
                "The X-NetSuite-Idempotency-Key header must be a UUID.",
            ) from None
        with self._lock:
            original = self._by_key.get(normalised)
        if original is not None:
            raise NetSuiteFault(
                400,
                wire.IDEMPOTENCY_ERROR,
                f"A request with the idempotency key {normalised} was already submitted as "
                f"job {original}: {wire.ASYNC_JOB_PATH}/{original}",
            )
        return normalised

    def submit(self, response: WireResponse, key: str | None, now: float) -> Job:
        with self._lock:
            self._next += 1
            job = Job(self._next, now, response, key)
            self._jobs[job.id] = job
            if key is not None:
                self._by_key[key] = job.id
            return job

    def answer(self, parts: list[str], base: str, now: float) -> WireResponse:
        """GET job / job/task / job/task/{id} / job/task/{id}/result (``parts`` after job/)."""
        if not parts or not parts[0].isdigit():
            raise not_found()
        with self._lock:
            job = self._jobs.get(int(parts[0]))
        if job is None:
            raise not_found()
        done = now >= job.submitted + self.delay
        progress = ("succeeded" if job.response.status < 400 else "failed") if done else "pending"
        job_href = f"{base}{wire.ASYNC_JOB_PATH}/{job.id}"
        rest = parts[1:]
        if not rest:
            body: dict[str, Any] = {
                "links": [{"rel": "self", "href": job_href}],
                "completed": done,
                "id": str(job.id),
                "progress": progress,
                "task": {"links": [{"rel": "self", "href": f"{job_href}/task"}]},
            }
            return WireResponse.json(200, body)
        if rest == ["task"]:
            return WireResponse.json(
                200,
                {
                    "links": [{"rel": "self", "href": f"{job_href}/task"}],
                    "count": 1,
                    "hasMore": False,
                    "items": [
                        {"links": [{"rel": "self", "href": f"{job_href}/task/1"}], "id": "1"}
                    ],
                    "offset": 0,
                    "totalResults": 1,
                },
            )
        if len(rest) >= 2 and rest[0] == "task" and rest[1] == "1":
            task_href = f"{job_href}/task/1"
            if rest[2:] == []:
                task: dict[str, Any] = {
                    "links": [
                        {"rel": "related", "href": f"{task_href}/result"},
                        {"rel": "self", "href": task_href},
                    ],
                    "completed": done,
                    "id": "1",
                    "progress": progress,
                    "startTime": _iso(job.submitted),
                }
                if done:
                    task["endTime"] = _iso(job.submitted + self.delay)
                return WireResponse.json(200, task)
            if rest[2:] == ["result"]:
                if not done:
                    raise not_found("The task has not completed yet.")
                return WireResponse(
                    job.response.status, job.response.body, dict(job.response.headers)
                )
        raise not_found()
