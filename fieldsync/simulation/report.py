"""What a simulated day in the field counts, shows while it runs, and reports at the end."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class Tally:
    """Counters shared by every phone of the fleet (one event loop: no locking needed)."""

    started: float = field(default_factory=time.monotonic)
    queued: Counter[str] = field(default_factory=Counter)  # mutation name -> queued
    statuses: Counter[str] = field(default_factory=Counter)  # applied / duplicate / conflict / rejected
    conflicts: Counter[str] = field(default_factory=Counter)  # "name: code" -> count
    rejections: Counter[str] = field(default_factory=Counter)  # code -> count
    errors: Counter[str] = field(default_factory=Counter)  # transport or HTTP failures by kind
    events: Counter[str] = field(default_factory=Counter)  # pushes, pulls, offline, lost replies…
    by_name: Counter[str] = field(default_factory=Counter)  # "mutation name: status" -> count
    photos: Counter[str] = field(default_factory=Counter)  # taken, uploaded, bytes, resumed, dropped…
    pulled_changes: int = 0
    push_latency_s: list[float] = field(default_factory=list)
    pull_latency_s: list[float] = field(default_factory=list)
    online: int = 0
    phones: int = 0

    def record_results(self, results: list[Any], names: dict[str, str]) -> None:
        for r in results:
            status = r.original_status or r.status
            if r.code == "seq_gap":
                self.errors["seq_gap"] += 1
                continue
            self.statuses[r.status] += 1
            name = names.get(r.id, "?")
            self.by_name[f"{name}: {status}"] += 1
            if status == "conflict":
                self.conflicts[f"{name}: {r.code or 'conflict'}"] += 1
            elif status == "rejected" and r.status != "duplicate":
                self.rejections[f"{r.code or '?'} ({name})"] += 1

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def progress_line(self) -> str:
        applied = self.statuses["applied"]
        rate = applied / self.elapsed if self.elapsed else 0.0
        return (
            f"{self.elapsed:6.0f}s  phones {self.online:>4}/{self.phones} online  "
            f"queued {sum(self.queued.values()):>7}  applied {applied:>7} ({rate:6.0f}/s)  "
            f"conflicts {sum(self.conflicts.values()):>5}  rejected {sum(self.rejections.values()):>5}  "
            f"pulled {self.pulled_changes:>8}  push p99 {_pct(self.push_latency_s, 99) * 1000:5.0f} ms  "
            f"errors {sum(self.errors.values()):>4}"
        )


@dataclass
class Convergence:
    phones_checked: int = 0
    phones_converged: int = 0
    users_checked: int = 0
    rows_compared: int = 0
    differences: list[str] = field(default_factory=list)  # the first few, for a human

    @property
    def ok(self) -> bool:
        return self.phones_checked > 0 and self.phones_checked == self.phones_converged


@dataclass
class PhotoCheck:
    """Photos the phones attached (``media.attach`` applied), fetched back from the server."""

    attached: int = 0
    differences: list[str] = field(default_factory=list)
    # the photos whose original the server serves with the phone's bytes (same SHA-256)
    verified_hashes: set[str] = field(default_factory=set)
    verified: int = 0

    @property
    def ok(self) -> bool:
        return self.verified == self.attached


@dataclass
class Report:
    tally: Tally
    convergence: Convergence
    seconds: float
    queued_ids: int
    acknowledged_ids: int
    lost: list[str]  # queued mutation ids that never got a result
    outbox_left: int
    # (username, client_id) -> {mutation id: final status}, for checks against the database.
    acknowledged: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    photo_check: PhotoCheck = field(default_factory=PhotoCheck)

    @property
    def ok(self) -> bool:
        return self.convergence.ok and not self.lost and self.outbox_left == 0 and self.photo_check.ok

    def photos(self) -> dict[str, int]:
        """Photo figures: taken, uploaded, bytes, resumed…, and what became of the attachments."""
        by_name = self.tally.by_name
        return {
            **self.tally.photos,
            "inspections submitted": by_name["inspection.submit: applied"],
            "attachments applied": by_name["media.attach: applied"],
            "attachments rejected": by_name["media.attach: rejected"],
            "attached photos verified": self.photo_check.verified,
            "attached photos": self.photo_check.attached,
        }

    def to_dict(self) -> dict[str, Any]:
        t = self.tally
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "phones": t.phones,
            "mutations_queued": dict(t.queued),
            "results": dict(t.statuses),
            "applied_per_s": round(t.statuses["applied"] / self.seconds, 1) if self.seconds else 0.0,
            "conflicts": dict(t.conflicts),
            "rejections": dict(t.rejections),
            "errors": dict(t.errors),
            "events": dict(t.events),
            "pulled_changes": t.pulled_changes,
            "by_mutation": dict(t.by_name),
            "photos": self.photos(),
            "photo_differences": self.photo_check.differences[:10],
            "push_p50_ms": round(_pct(t.push_latency_s, 50) * 1000, 1),
            "push_p99_ms": round(_pct(t.push_latency_s, 99) * 1000, 1),
            "pull_p50_ms": round(_pct(t.pull_latency_s, 50) * 1000, 1),
            "pull_p99_ms": round(_pct(t.pull_latency_s, 99) * 1000, 1),
            "acknowledged": self.acknowledged_ids,
            "queued": self.queued_ids,
            "lost": len(self.lost),
            "outbox_left": self.outbox_left,
            "convergence": {
                "ok": self.convergence.ok,
                "phones_checked": self.convergence.phones_checked,
                "phones_converged": self.convergence.phones_converged,
                "users_checked": self.convergence.users_checked,
                "rows_compared": self.convergence.rows_compared,
                "differences": self.convergence.differences[:10],
            },
        }

    def render(self) -> str:
        d = self.to_dict()
        lines = [
            f"fieldsync simulation: {d['phones']} phones for {d['seconds']}s — "
            + ("OK" if self.ok else "PROBLEMS"),
            f"  mutations queued   {sum(self.tally.queued.values()):,}  "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.tally.queued.items())),
            "  results            "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(self.tally.statuses.items()))
            + f"  ({d['applied_per_s']} applied/s)",
            f"  push latency       p50 {d['push_p50_ms']} ms, p99 {d['push_p99_ms']} ms; "
            f"pull p50 {d['pull_p50_ms']} ms, p99 {d['pull_p99_ms']} ms; "
            f"{d['pulled_changes']:,} changes pulled",
        ]
        lines.append("  conflicts by kind  " + (_counts(self.tally.conflicts) or "none"))
        lines.append("  rejections by code " + (_counts(self.tally.rejections) or "none"))
        lines.append("  events             " + (_counts(self.tally.events) or "none"))
        lines.append("  photos             " + ", ".join(f"{k} {v:,}" for k, v in self.photos().items()))
        if self.tally.errors:
            lines.append("  errors             " + _counts(self.tally.errors))
        lines.append(
            f"  acknowledged       {self.acknowledged_ids:,} of {self.queued_ids:,} queued; "
            f"lost {len(self.lost)}; left in outboxes {self.outbox_left}"
        )
        c = self.convergence
        lines.append(
            f"  convergence        {c.phones_converged}/{c.phones_checked} phones equal the server's view "
            f"({c.users_checked} users, {c.rows_compared:,} rows compared)"
        )
        lines.extend(f"    ! {diff}" for diff in c.differences[:10])
        p = self.photo_check
        lines.append(
            f"  attached photos    {p.verified}/{p.attached} served by the server with the phone's bytes"
        )
        lines.extend(f"    ! {diff}" for diff in p.differences[:10])
        return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counter.most_common())
