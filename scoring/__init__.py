"""Pure scoring arithmetic for the Lead Partner Pipeline.

Rubrics, per-proposal results, reviewer calibration, agreement, ranking, approval,
self-audit profiles and reviewer assignment. Plain data in, plain data out: nothing here
imports the web application or the database, so every rule can be tested on its own.
"""
