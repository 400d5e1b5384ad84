"""Deviation generators: where a trace's mistakes come from.

`catalog` names every generator a recipe can use (its import registers the rules of `rules` and
`prose`); `planner` places rule deviations in a problem, `weak` and `plan` those of a weak model.
"""
