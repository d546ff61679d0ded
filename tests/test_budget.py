"""The memory budgets' bookkeeping (the server-level proof is tests/test_server_memory.py and bench/bench_soak.py)."""
from __future__ import annotations

from adastyle.server.budget import ByteBoundedStore, PixelBudget


def test_pixel_budget_refuses_what_does_not_fit_and_takes_nothing() -> None:
    budget = PixelBudget(100)
    assert budget.take(60) and not budget.take(41) and budget.used == 60
    assert budget.take(40) and budget.used == 100
    budget.give(60)
    assert budget.used == 40 and budget.take(60)


def test_store_evicts_least_recently_used_by_bytes() -> None:
    store: ByteBoundedStore[str] = ByteBoundedStore(10)
    store.put("a", "A", 4)
    store.put("b", "B", 4)
    assert store.get("a") == "A"  # a is now the most recent
    store.put("c", "C", 4)  # 12 > 10: b goes
    assert "b" not in store and "a" in store and "c" in store and store.used == 8
    store.put("a", "A2", 9)  # replacing a: 13 > 10, c goes
    assert store.get("a") == "A2" and len(store) == 1 and store.used == 9
