"""Red flags contrast the tail with the core: a feature with no core examples raises none."""

from __future__ import annotations

import numpy as np

from labeler_tui.core.analysis import flags
from labeler_tui.core.analysis import regions as R

N_REGIONS = 6


def _counts(zone_value_counts: list[int], core_value_counts: list[int]) -> np.ndarray:
    counts = np.zeros((N_REGIONS, len(zone_value_counts)), dtype=np.int64)
    counts[R.FLANDERIZATION] = zone_value_counts
    counts[R.CORE] = core_value_counts
    return counts


def test_the_same_tail_is_flagged_with_a_core_and_not_without_one() -> None:
    values = ["bloblobber", "splattershot", "hydra"]
    with_core = np.zeros(N_REGIONS, dtype=np.int64)
    with_core[R.FLANDERIZATION] = 10
    with_core[R.CORE] = 40
    counts = _counts([10, 0, 0], [2, 20, 18])
    flagged = flags.super_stimuli("weapon", values, counts, with_core)
    assert [f["subject"] for f in flagged] == ["weapon=bloblobber"]

    no_core = with_core.copy()
    no_core[R.CORE] = 0
    counts_no_core = _counts([10, 0, 0], [0, 0, 0])
    assert flags.super_stimuli("weapon", values, counts_no_core, no_core) == []
    top = np.zeros(10, dtype=np.int64)  # every top-100 example is a bloblobber
    assert flags.flanderized("weapon", values, top, counts_no_core, no_core) == []
    assert flags.tail_markers(counts_no_core, no_core, values) == []
