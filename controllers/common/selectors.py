"""`SelectorCache`: each owner's parsed `spec.selector`, parsed once per selector value.

    selectors = SelectorCache()
    selector = selectors.get(rs.metadata.uid, rs.spec.selector)   # None: the selector is invalid
    selectors.forget(rs.metadata.uid)                              # when the owner is deleted

The ReplicaSet, StatefulSet and DaemonSet controllers match pods against their owner's selector
on every pod event; parsing it each time (`Selector.from_label_selector`) showed in profiles.
A cached entry is reused while the owner's selector is the same object or an equal one.
"""

from __future__ import annotations

from cp.api.errors_values import SelectorError
from cp.api.meta import LabelSelector
from cp.api.selectors import Selector

__all__ = ["SelectorCache"]


class SelectorCache:
    """Parsed selectors by owner uid (None for a selector that does not parse)."""

    __slots__ = ("_parsed",)

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[LabelSelector, Selector | None]] = {}

    def get(self, uid: str, selector: LabelSelector) -> Selector | None:
        """The parsed `selector` of owner `uid`; None when it is invalid."""
        cached = self._parsed.get(uid)
        if cached is not None and (cached[0] is selector or cached[0] == selector):
            return cached[1]
        try:
            parsed: Selector | None = Selector.from_label_selector(selector)
        except SelectorError:
            parsed = None
        self._parsed[uid] = (selector, parsed)
        return parsed

    def forget(self, uid: str) -> None:
        """Drop owner `uid`'s entry (it was deleted)."""
        self._parsed.pop(uid, None)
