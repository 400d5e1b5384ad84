"""`tracegen validate`: train tiny models from scratch under different data recipes and measure whether they learn to
undo.

plan.py (variants, datasets, token budget), forcing.py (a forced deviation during decoding),
metrics.py (what a decode shows: accuracy, recovery, deviations, undo precision and recall),
evaluate.py (decode held-out problems and measure), report.py (table, JSON, plot), run.py (the whole run).
"""
