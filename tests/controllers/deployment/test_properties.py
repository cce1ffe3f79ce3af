"""Invariants of one RollingUpdate step (one reconcile through the controller), for random
replicas, maxSurge/maxUnavailable (ints or percentages) and ReplicaSet states.

Pods removed by a scale-down are the unavailable ones first (the ReplicaSet controller's
ranking), so after the step an RS has min(spec, available) available replicas."""

from __future__ import annotations

import anyio
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from controllers.deployment import util as du
from cp.api.apps import ReplicaSet

from .harness import Harness
from .helpers import deployment, replica_set

INT_OR_PERCENT = st.one_of(
    st.integers(min_value=0, max_value=6),
    st.integers(min_value=0, max_value=100).map(lambda p: f"{p}%"),
)


def _is_zero(value: int | str) -> bool:
    return value in (0, "0%")


@st.composite
def rs_state(draw: st.DrawFn, max_spec: int) -> tuple[int, int]:
    spec = draw(st.integers(min_value=0, max_value=max_spec))
    return spec, draw(st.integers(min_value=0, max_value=spec))


def _step(
    replicas: int,
    surge: int | str,
    unavailable: int | str,
    new: tuple[int, int] | None,
    old: list[tuple[int, int]],
) -> tuple[list[ReplicaSet], list[ReplicaSet]]:
    d = deployment(replicas, image="new", max_surge=surge, max_unavailable=unavailable)
    objects = []
    if new is not None:
        objects.append(
            replica_set("web-new", new[0], image="new", available=new[1], revision=len(old) + 1)
        )
    for i, (spec, available) in enumerate(old):
        created = f"2024-01-01T00:00:0{i}Z"
        objects.append(
            replica_set(
                f"web-old{i}",
                spec,
                image=f"old{i}",
                available=available,
                revision=i + 1,
                created=created,
            )
        )
    h = Harness(d, *objects)
    before = [rs for rs in h.of_kind("ReplicaSet") if isinstance(rs, ReplicaSet)]
    anyio.run(h.reconcile)
    after = [rs for rs in h.of_kind("ReplicaSet") if isinstance(rs, ReplicaSet)]
    return before, after


def _available(rss: list[ReplicaSet]) -> int:
    return sum(min(du.rs_replicas(rs), du.rs_available(rs)) for rs in rss)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    replicas=st.integers(min_value=0, max_value=20),
    surge=INT_OR_PERCENT,
    unavailable=INT_OR_PERCENT,
    new=st.one_of(st.none(), rs_state(25)),
    old=st.lists(rs_state(25), max_size=3),
)
def test_one_rolling_step_keeps_surge_and_availability_bounds(
    replicas: int,
    surge: int | str,
    unavailable: int | str,
    new: tuple[int, int] | None,
    old: list[tuple[int, int]],
) -> None:
    assume(not (_is_zero(surge) and _is_zero(unavailable)))
    before, after = _step(replicas, surge, unavailable, new, old)
    d = deployment(replicas, max_surge=surge, max_unavailable=unavailable)
    max_total = replicas + du.max_surge(d)
    min_available = replicas - du.max_unavailable(d)
    total_before = sum(du.rs_replicas(rs) for rs in before)
    total_after = sum(du.rs_replicas(rs) for rs in after)
    assert total_after <= max(total_before, max_total)
    available_before = _available(before)
    assert _available(after) >= min(available_before, min_available)
