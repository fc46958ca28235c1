"""When the base's metrics can be compared with the PR's."""

from __future__ import annotations

import pytest

from mlpipe.report.revision import Revision, incomparable


def _rev(target: str | None, classes: list[str] | None) -> Revision:
    validation = None if classes is None else {"target_counts": dict.fromkeys(classes, 5)}
    params = {} if target is None else {"data": {"target": target}}
    return Revision(label="x", commit="abc", params=params, validation=validation)


@pytest.mark.parametrize(
    ("base", "head", "reason"),
    [
        (_rev("churned", ["False", "True"]), _rev("churned", ["False", "True"]), None),
        (_rev("price", None), _rev("price", None), None),  # regression: no classes to compare
        (_rev(None, None), _rev("churned", ["a", "b"]), None),  # a base without a run
        (
            _rev("churned", ["False", "True"]),
            _rev("class", ["0", "1", "2"]),
            "the base predicts `churned`, the PR `class`",
        ),
        (
            _rev("label", ["cat", "dog"]),
            _rev("label", ["cat", "dog", "fox"]),
            "the base's classes (cat, dog) are not the PR's (cat, dog, fox)",
        ),
    ],
)
def test_incomparable(base: Revision, head: Revision, reason: str | None) -> None:
    assert incomparable(base, head) == reason
