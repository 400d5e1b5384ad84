"""Deviation generators: where a trace's mistakes come from.

Every generator a recipe can name is in `tracegen.stages.GENERATORS` (`base` says what one is; the
rules of `rules` and `prose` register themselves with `registry.rule`); `planner` places rule
deviations in a problem, `weak` and `plan` those of a weak model.
"""
