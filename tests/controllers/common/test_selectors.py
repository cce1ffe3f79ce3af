"""SelectorCache: one parse per owner and selector value; invalid selectors are None."""

from __future__ import annotations

from controllers.common.selectors import SelectorCache
from cp.api.meta import LabelSelector, LabelSelectorRequirement


def test_parsed_once_per_value_and_reparsed_when_it_changes() -> None:
    cache = SelectorCache()
    web = LabelSelector(match_labels={"app": "web"})
    first = cache.get("uid-1", web)
    assert first is not None
    assert first.matches({"app": "web"})
    assert cache.get("uid-1", LabelSelector(match_labels={"app": "web"})) is first  # equal value
    db = cache.get("uid-1", LabelSelector(match_labels={"app": "db"}))
    assert db is not None
    assert db is not first
    assert db.matches({"app": "db"})
    assert not db.matches({"app": "web"})
    cache.forget("uid-1")
    assert cache.get("uid-1", web) is not first


def test_an_invalid_selector_is_none() -> None:
    bad = LabelSelector(
        match_expressions=(LabelSelectorRequirement(key="app", operator="Sideways", values=()),)
    )
    assert SelectorCache().get("uid", bad) is None
