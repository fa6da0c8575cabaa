"""The yardstick line of bench/impact: a plain pandas + SciPy script doing what a data scientist
would write first, a Mann-Whitney U test of the after window against the before window for each
(event, metric) pair, on a data set of the same shape (one-minute series, 60-minute windows with a
5-minute gap). Prints one line: pairs/s. Single process, as such a script runs.

Run: /usr/bin/python3 bench/impact/pandas_scipy.py [pairs=10000] [metrics=50]
(Debian: apt-get install python3-pandas python3-scipy)
"""
import sys
import time

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

PAIRS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
METRICS = int(sys.argv[2]) if len(sys.argv) > 2 else 50
MINUTES = 8 * 1440

rng = np.random.default_rng(1)
index = pd.date_range("2026-10-01", periods=MINUTES, freq="min", tz="UTC")
series = [pd.Series(100 + rng.normal(0, 5, MINUTES), index=index) for _ in range(METRICS)]
events = pd.date_range(index[0] + pd.Timedelta(days=7, hours=6), periods=max(1, PAIRS // METRICS), end=index[-1] - pd.Timedelta(hours=2))

start = time.perf_counter()
pairs = 0
for t in events:
    for s in series:
        before = s.loc[t - pd.Timedelta(minutes=65) : t - pd.Timedelta(minutes=5, seconds=1)]
        after = s.loc[t + pd.Timedelta(minutes=5) : t + pd.Timedelta(minutes=65, seconds=-1)]
        mannwhitneyu(after.to_numpy(), before.to_numpy(), alternative="two-sided", method="asymptotic")
        pairs += 1
elapsed = time.perf_counter() - start
print(f"{pairs} pairs in {elapsed:.2f} s = {pairs / elapsed:.0f} pairs/s")
