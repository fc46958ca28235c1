"""The long-first order of tests/support/scheduling.py, for pytest-xdist's worksteal."""

from __future__ import annotations

from support.scheduling import long_first_shares, share_sizes

LONG = {"grid": 230.0, "stop": 150.0, "wide": 120.0, "push": 115.0}


def _order(items: list[str], workers: int) -> list[str]:
    return long_first_shares(items, workers, LONG.get)


def test_share_sizes_are_worksteals_first_deal() -> None:
    assert share_sizes(10, 3) == [3, 3, 4] and share_sizes(1154, 2) == [577, 577]
    assert sum(share_sizes(1157, 3)) == 1157


def test_long_tests_head_the_shares_longest_first_on_the_lightest_share() -> None:
    items = [f"t{i}" for i in range(20)] + ["push", "wide", "stop", "grid"]
    ordered = _order(items, 3)
    assert sorted(ordered) == sorted(items)  # a permutation: nothing lost or repeated
    first, second, third = ordered[0:8], ordered[8:16], ordered[16:24]
    assert first[0] == "grid" and second[0] == "stop" and third[0] == "wide"
    assert third[1] == "push"  # 120 s was the least long work when push (115 s) was placed
    rest = [item for item in ordered if item not in LONG]
    assert rest == [f"t{i}" for i in range(20)]  # the others keep their order


def test_no_long_test_or_one_worker_keeps_the_order() -> None:
    items = [f"t{i}" for i in range(7)]
    assert _order(items, 3) == items
    assert _order([*items, "grid"], 1) == [*items, "grid"]


def test_long_tests_that_wait_go_to_every_share_but_the_last() -> None:
    # The queue tests mostly wait: the last share starts with the long tests that compute.
    waiting = {"grid", "stop"}
    items = [f"t{i}" for i in range(20)] + ["push", "wide", "stop", "grid"]
    ordered = long_first_shares(items, 3, LONG.get, waiting.__contains__)
    assert sorted(ordered) == sorted(items)
    first, second, third = ordered[0:8], ordered[8:16], ordered[16:24]
    assert first[0] == "grid" and second[0] == "stop"
    assert third[:2] == ["wide", "push"] and third[2] == "t14"
    # Two shares, waiting tests only: all on the first; the second starts with the others.
    ordered = long_first_shares(
        ["t0", "t1", "grid", "stop"], 2, LONG.get, {"grid", "stop"}.__contains__
    )
    assert ordered == ["grid", "stop", "t0", "t1"]


def test_heavy_tests_are_dealt_first_so_every_queue_ends_with_light_ones() -> None:
    # h*: tests that start pipelines; u*: in-process unit tests (in file order: h first).
    heavy = [f"h{i}" for i in range(6)]
    light = [f"u{i}" for i in range(15)]
    items = [*heavy, *light, "grid"]
    ordered = long_first_shares(items, 3, LONG.get, heavy=lambda item: item.startswith("h"))
    assert sorted(ordered) == sorted(items)
    first, second, third = ordered[0:7], ordered[7:14], ordered[14:22]
    assert first == ["grid", "h0", "h1", "u0", "u1", "u2", "u3"]
    assert second == ["h2", "h3", "u4", "u5", "u6", "u7", "u8"]
    assert third == ["h4", "h5", "u9", "u10", "u11", "u12", "u13", "u14"]
    # One light test: the first share is all heavy, the light one ends the last share.
    ordered = long_first_shares([*heavy, "u0"], 2, LONG.get, heavy=lambda i: i[0] == "h")
    assert ordered == ["h0", "h1", "h2", "h3", "h4", "h5", "u0"]
    # Without ``heavy`` the order is the long-first one of the tests above.
    assert long_first_shares(items, 3, LONG.get) == _order(items, 3)
