"""Reviewer calibration: take out each reviewer's leniency and spread.

Every score is first put on a common footing as a fraction of its criterion's scale
(0 = lowest level, 1 = top). For each reviewer, pooled over every criterion and proposal
they scored on the RFP, we take the mean and the standard deviation of those fractions;
the panel's mean is pooled the same way over all scores, each score counting once, and the
panel's spread is the pooled within-reviewer standard deviation (the root mean square of
every score's distance from its own reviewer's mean). Using the spread around the grand
mean instead would count the leniency differences being removed as spread, and widen every
calibrated score. A score is then re-expressed as "this many of the reviewer's own
standard deviations from the reviewer's own mean" and mapped onto the panel's mean and
spread: ``panel_mean + (fraction - reviewer_mean) * panel_sd / reviewer_sd``, clipped to
[0, 1]. Calibrated fractions are averaged per proposal and criterion and converted back to
the criterion's scale. Standard deviations are population ones (divide by n) throughout.

Edge cases, chosen so that calibration never invents information:

* A reviewer with fewer than ``MIN_SCORES`` scores is left unchanged: one or two scores
  cannot tell a harsh reviewer from a weak proposal.
* A reviewer with ``MIN_SCORES`` or more scores but no spread (every score the same
  fraction) is only shifted by their mean, which puts every score at the panel mean: their
  scores say how generous they are and nothing about which proposal is better.
* With a single reviewer the panel is that reviewer, so nothing changes.

``calibrated_means`` in ``scoring.rubric`` applies this to an RFP's scores.

Calibration is most meaningful when each reviewer scores several proposals; a reviewer who
scored one proposal is standardized across that proposal's criteria only.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

MIN_SCORES = 3
# Below this standard deviation (in fractions of a scale) a reviewer has no spread.
ZERO_SPREAD = 1e-9


def calibrated_fractions(
    fractions: NDArray[np.float64], reviewer: NDArray[np.intp]
) -> NDArray[np.float64]:
    """Calibrate a proposals x slots x criteria array of fractions (NaN = not scored).

    ``reviewer`` (proposals x slots) gives each slot's reviewer index, -1 when empty.
    """
    present = ~np.isnan(fractions)
    if not present.any():
        return fractions.copy()
    who = np.broadcast_to(reviewer[:, :, np.newaxis], fractions.shape)[present]
    scored = fractions[present]
    reviewers = int(who.max()) + 1
    counts = np.bincount(who, minlength=reviewers)
    means = np.bincount(who, weights=scored, minlength=reviewers) / np.maximum(counts, 1)
    deviations = scored - means[who]
    sds = np.sqrt(
        np.bincount(who, weights=deviations * deviations, minlength=reviewers)
        / np.maximum(counts, 1)
    )
    panel_mean = float(scored.mean())
    panel_sd = float(np.sqrt(np.mean(deviations * deviations)))

    enough = counts >= MIN_SCORES
    spread = sds > ZERO_SPREAD
    # Per reviewer: calibrated = shift + deviation * scale (see the module docstring).
    scale = np.where(enough & spread, panel_sd / np.where(spread, sds, 1.0), 1.0)
    scale = np.where(enough, scale, 1.0)
    shift = np.where(enough, panel_mean, means)

    result = np.full(fractions.shape, np.nan)
    result[present] = np.clip(shift[who] + deviations * scale[who], 0.0, 1.0)
    return result
