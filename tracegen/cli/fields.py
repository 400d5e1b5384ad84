"""From the library's words to the command line's: an error's field, named as the flag the user types.

The library names what a Python caller gave it: a recipe key (`deviations.weak.verifier`) or a
function argument (`batch_size`, `ray_address`; alternatives joined by `/`). A command's options
are its function's arguments, so an argument the running command has as an option is shown as
that option (`--batch-size`); ARGUMENT_FLAGS lists the arguments whose option has another name.
Errors that point into a file (with a line) keep their field: it names a key of that file. Recipe
overrides (load_recipe's `overrides`) are what the command line set: flags and `--set` pairs.
"""

from __future__ import annotations

from tracegen.errors import InputError
from tracegen.recipe import OVERRIDES

ARGUMENT_FLAGS = {
    "overrides": "--set",  # load_recipe(overrides=...): the --set KEY=VALUE pairs
    "shard": "--shard-index",  # build(shard=(index, count)): the count is --num-shards, checked by the CLI
}


def as_typed(error: InputError) -> InputError:
    """`error` with its field named as the running command's option, when it names one of its arguments."""
    context = _running_command()
    if context is None:
        return error
    file = "command line" if error.file == OVERRIDES else error.file
    field = error.field
    if field and error.line is None:
        params = context.command.params
        flags = {param.name: _long_flag(param.opts) for param in params if param.param_type_name == "option"}
        known = {flag for param in params for flag in param.opts}
        flags |= {name: flag for name, flag in ARGUMENT_FLAGS.items() if flag in known}
        field = "/".join(flags.get(part, part) for part in field.split("/"))
    return InputError(error.reason, file=file, line=error.line, field=field)


def _long_flag(opts: list[str]) -> str:
    return next((opt for opt in opts if opt.startswith("--")), opts[0])


def _running_command():
    """The click context of the command being run, or None outside one (typer >= 0.22 runs its own copy of click)."""
    try:
        from typer._click.globals import get_current_context
    except ImportError:
        from click import get_current_context
    return get_current_context(silent=True)
