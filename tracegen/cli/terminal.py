"""The terminal side of every command: the consoles, and how errors and interrupts end a command.

Apart from tracegen.cli.main so that the other command groups (model_commands, train_commands) share it
without importing the module that registers them.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from tracegen.cli.fields import as_typed
from tracegen.errors import InputError
from tracegen.llm.base import BackendDown
from tracegen.progress import LineProgress

# Logs (stdout not a terminal) get 120 columns, not rich's 80: summary lines with paths and reasons stay whole.
console = Console(emoji=False, width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, emoji=False)


def say(label: str, style: str, message: str) -> None:
    """One line on stderr; `message` comes from data and paths, so it is never read as markup."""
    err_console.print(Text.assemble((label, style), " ", message), highlight=False, soft_wrap=True)


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # so `kill` cleans up like Ctrl-C does


BUILD_INTERRUPTED = "the output folder was not touched (rerun the same build to resume from its finished chunks)"


@contextmanager
def friendly_errors(interrupted: str = BUILD_INTERRUPTED):
    """Bad input: one line on stderr and exit 2. Ctrl-C or SIGTERM: `interrupted` and exit 130, nothing
    half-written."""
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        yield
    except InputError as e:
        say("error:", "bold red", str(as_typed(e)))  # a function argument's name -> the flag the user types
        raise typer.Exit(2) from None
    except BackendDown as e:  # the model server is unreachable: stop instead of failing every problem
        say("error:", "bold red", str(e))
        raise typer.Exit(1) from None
    except OSError as e:  # disk full, permission denied...: the staging folder is already removed
        say("error:", "bold red", f"{e.filename}: {e.strerror}" if e.filename and e.strerror else str(e))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        say("interrupted:", "yellow", interrupted)
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def parse_overrides(pairs: list[str]) -> dict[str, object]:
    """`--set KEY=VALUE` pairs as recipe overrides, each value read as YAML."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"expected KEY=VALUE, got {pair!r}", field="--set")
        try:
            overrides[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise InputError(
                f"value is not valid YAML ({getattr(e, 'problem', None) or type(e).__name__})", field=f"--set {key}"
            ) from None
    return overrides


def progress_bar() -> Progress | LineProgress:
    """A live bar on a terminal; plain progress lines when stderr is a log (CI, nohup), so long runs are never
    silent."""
    if not err_console.is_terminal:
        return LineProgress(sys.stderr)
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )
