"""Does the Prefect server schedule our deployments? Checked, not assumed.

A server that answers ``/health`` can still never create a scheduled run (its scheduler
service failing in a loop, or disabled). After serve has registered the deployments, this
watches the API until every deployment has an upcoming run that the scheduler created
(``auto_scheduled``) and says so once, or reports the ones that have none by a deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from urllib.parse import quote

import httpx

DEFAULT_DEADLINE_S = 180.0


def upcoming_auto_runs(api_url: str, full_names: Sequence[str]) -> dict[str, list[datetime]]:
    """Expected start times of the scheduler's SCHEDULED runs, per ``flow/deployment`` name."""
    api = api_url.rstrip("/")
    with httpx.Client(timeout=10) as client:
        ids: dict[str, str] = {}
        for name in full_names:
            flow, deployment = name.split("/", 1)
            response = client.get(f"{api}/deployments/name/{quote(flow)}/{quote(deployment)}")
            if response.status_code == 200:
                ids[str(response.json()["id"])] = name
        runs = client.post(
            f"{api}/flow_runs/filter",
            json={
                "flow_runs": {
                    "deployment_id": {"any_": list(ids)},
                    "state": {"type": {"any_": ["SCHEDULED"]}},
                },
                "sort": "EXPECTED_START_TIME_ASC",
                "limit": 200,
            },
        )
        runs.raise_for_status()
    upcoming: dict[str, list[datetime]] = {name: [] for name in full_names}
    for run in runs.json():
        if run.get("auto_scheduled") and run.get("deployment_id") in ids:
            upcoming[ids[run["deployment_id"]]].append(
                datetime.fromisoformat(run["expected_start_time"])
            )
    return upcoming


class ScheduleWatch:
    """In a thread: report once whether every deployment got scheduled runs in time."""

    def __init__(
        self,
        api_url: str,
        full_names: Sequence[str],
        echo: Callable[[str], None],
        echo_error: Callable[[str], None],
        deadline_seconds: float = DEFAULT_DEADLINE_S,
        poll_seconds: float = 5.0,
        hint: str = "",
    ) -> None:
        self._api = api_url
        self._names = list(full_names)
        self._echo = echo
        self._echo_error = echo_error
        self._deadline = deadline_seconds
        self._poll = poll_seconds
        self._hint = hint
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="schedule-watch", daemon=True)
        self.verdict: bool | None = None

    def start(self) -> ScheduleWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        waited = 0.0
        missing = self._names
        error = ""
        while not self._stop.wait(self._poll):
            waited += self._poll
            try:
                upcoming = upcoming_auto_runs(self._api, self._names)
            except httpx.HTTPError as exc:
                error = f" (last API error: {type(exc).__name__})"
            else:
                missing = [name for name, times in upcoming.items() if not times]
                if not missing:
                    self.verdict = True
                    first = min(t for times in upcoming.values() for t in times)
                    self._echo(
                        f"schedules OK: the server has scheduled runs for all {len(self._names)} "
                        f"deployments; the first starts at {first:%Y-%m-%d %H:%M:%S %Z}"
                    )
                    return
            if waited >= self._deadline:
                self.verdict = False
                self._echo_error(
                    f"ERROR: after {waited:.0f} s the Prefect server has created no scheduled "
                    f"runs for {', '.join(missing)}{error}: their schedules will not fire"
                    f"{self._hint}"
                )
                return
