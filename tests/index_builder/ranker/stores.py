"""Small synthetic stores for the learned ranker's tests: one whose shoppers only rebuy their usual items, one whose
shoppers never buy an item twice (each basket new items from their favourite category)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

DAY_S = 86_400
START_S = 1_760_000_000
N_ITEMS, N_CATEGORIES = 240, 12


def write_store(directory: Path, *, rebuy: bool, users: int = 240, baskets: int = 8, seed: int = 3) -> Path:
    """items.csv, users.csv, events.csv of a store of weekly baskets of 4 purchases (each bought item also
    viewed first). Rebuy: every basket is 4 of the shopper's own 6 usual items. No rebuy: every basket is 4
    items of the shopper's favourite category they never bought before."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    category = np.arange(N_ITEMS) % N_CATEGORIES
    with (directory / "items.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "title", "category", "brand", "price", "in_stock"])
        for i in range(N_ITEMS):
            w.writerow([f"i{i:03d}", f"Item {i}", f"c{category[i]}", f"b{i % 7}", 5 + i % 20, "true"])
    with (directory / "users.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "consent"])
        for u in range(users):
            w.writerow([f"u{u:03d}", "true"])
    rows = []
    for u in range(users):
        favourite = np.flatnonzero(category == rng.integers(N_CATEGORIES))
        usual = rng.choice(N_ITEMS, size=6, replace=False)
        fresh = iter(rng.permutation(favourite).tolist() + rng.permutation(N_ITEMS).tolist())
        bought: set[int] = set()
        for b in range(baskets):
            at = START_S + (b * 7 + int(rng.integers(0, 3))) * DAY_S + u * 60
            if rebuy:
                picks = rng.choice(usual, size=4, replace=False).tolist()
            else:
                picks = []
                while len(picks) < 4:
                    item = next(fresh)
                    if item not in bought:
                        bought.add(item)
                        picks.append(item)
            for j, item in enumerate(picks):
                rows.append((at + 10 * j, f"u{u:03d}", f"s{u}-{b}", f"i{item:03d}", "view"))
                rows.append((at + 10 * j + 5, f"u{u:03d}", f"s{u}-{b}", f"i{item:03d}", "purchase"))
    rows.sort()
    with (directory / "events.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ts", "user_id", "session_id", "item_id", "type"])
        w.writerows(rows)
    return directory
