"""What a session move reports: per-type counts, outcomes, bytes, speed, verification."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from fynlo.cutover.common import EXIT_DIFFERENCES, EXIT_OK

OUTCOMES = ("moved", "already_present", "replaced", "failed")
MAX_LISTED = 100  # failures and differences listed in the report; the counts are complete


def key_text(key: bytes) -> str:
    """A key for people: UTF-8, with undecodable bytes as \\x escapes."""
    return key.decode("utf-8", "backslashreplace")


@dataclass
class TypeTally:
    moved: int = 0
    already_present: int = 0
    replaced: int = 0
    failed: int = 0
    bytes: int = 0

    @property
    def keys(self) -> int:
        return self.moved + self.already_present + self.replaced + self.failed


@dataclass
class KeyProblem:
    key: str
    problem: str


@dataclass
class Tally:
    """Outcomes of a part of the move (the reader's and the writer's are merged at the end)."""

    moved: int = 0
    already_present: int = 0
    replaced: int = 0
    expired: int = 0
    failed: int = 0
    bytes: int = 0
    copied_by_type: int = 0
    by_type: dict[str, TypeTally] = field(default_factory=dict)
    failures: list[KeyProblem] = field(default_factory=list)

    def count(self, outcome: str, kind: str, size: int = 0, *, keys: int = 1) -> None:
        """`keys` keys of type `kind` had this outcome; `size`: their bytes, when written."""
        tally = self.by_type.get(kind)
        if tally is None:
            tally = self.by_type[kind] = TypeTally()
        setattr(self, outcome, getattr(self, outcome) + keys)
        setattr(tally, outcome, getattr(tally, outcome) + keys)
        if outcome in ("moved", "replaced"):
            self.bytes += size
            tally.bytes += size

    def fail(self, key: bytes, kind: str, error: str) -> None:
        self.count("failed", kind)
        if len(self.failures) < MAX_LISTED:
            self.failures.append(KeyProblem(key_text(key), error))

    def merge(self, other: Tally) -> None:
        for name in ("moved", "already_present", "replaced", "expired", "failed", "bytes", "copied_by_type"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for kind, theirs in other.by_type.items():
            mine = self.by_type.setdefault(kind, TypeTally())
            for name in (*OUTCOMES, "bytes"):
                setattr(mine, name, getattr(mine, name) + getattr(theirs, name))
        self.failures.extend(other.failures[: max(0, MAX_LISTED - len(self.failures))])


@dataclass
class Verification:
    mode: str
    keys_on_source: int = 0  # of the keys moved, those still on the source
    keys_on_target: int = 0  # of those, the ones found on the target
    checked: int = 0  # keys whose value and TTL were compared
    matched: int = 0
    expired: int = 0  # gone from the source while being checked: not compared
    differences: int = 0
    problems: list[KeyProblem] = field(default_factory=list)
    seconds: float = 0.0

    def differ(self, key: bytes, problem: str) -> None:
        self.differences += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(KeyProblem(key_text(key), problem))

    @property
    def ok(self) -> bool:
        return self.differences == 0


@dataclass
class SessionMoveReport:
    source: str
    target: str
    source_server: str
    target_server: str
    patterns: list[str]
    mode: str
    dry_run: bool
    replace: bool
    scanned: int = 0
    tally: Tally = field(default_factory=Tally)
    switched_to_struct: bool = False  # auto mode: the target refused the source's DUMP format
    seconds: float = 0.0
    verification: Verification | None = None

    @property
    def keys_per_second(self) -> float:
        return self.scanned / self.seconds if self.seconds else 0.0

    @property
    def exit_code(self) -> int:
        if self.tally.failed or (self.verification is not None and not self.verification.ok):
            return EXIT_DIFFERENCES
        return EXIT_OK

    def as_dict(self) -> dict:
        tally = self.tally
        return {
            "source": self.source,
            "target": self.target,
            "source_server": self.source_server,
            "target_server": self.target_server,
            "patterns": self.patterns,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "replace": self.replace,
            "scanned": self.scanned,
            "moved": tally.moved,
            "already_present": tally.already_present,
            "replaced": tally.replaced,
            "expired": tally.expired,
            "failed": tally.failed,
            "bytes": tally.bytes,
            "copied_by_type": tally.copied_by_type,
            "switched_to_struct": self.switched_to_struct,
            "by_type": {kind: {**asdict(t), "keys": t.keys} for kind, t in sorted(tally.by_type.items())},
            "seconds": round(self.seconds, 3),
            "keys_per_second": round(self.keys_per_second, 1),
            "failures": [asdict(problem) for problem in tally.failures],
            "verification": None if self.verification is None else {
                **asdict(self.verification), "ok": self.verification.ok,
            },
            "exit_code": self.exit_code,
        }
