"""What the runtime's command lines share."""
import argparse
import os.path as osp
import sys
from typing import Callable, Optional, Sequence

from .metadata import InferenceError


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``(default: ...)`` on each optional option not saying it in words."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.required or '(default' in (action.help or ''):
            return action.help or ''
        return super()._get_help_string(action)


def check_bounds(parser: argparse.ArgumentParser,
                 args: argparse.Namespace,
                 names: Sequence[str],
                 minimum: float = 1,
                 strict: bool = False) -> None:
    """``parser.error`` for the first of the options ``names`` (dests) in
    ``args`` below ``minimum`` (default 1), or at it if ``strict`` (default
    False)."""
    for name in names:
        value = getattr(args, name)
        if value is not None and (value <= minimum
                                  if strict else value < minimum):
            parser.error(f'--{name.replace("_", "-")} must be '
                         f'{">" if strict else ">="} {minimum:g}, got {value}')


def run_cli(parse_args: Callable, run: Callable, argv: Optional[Sequence[str]],
            prog: Optional[str]) -> None:
    """``run(parse_args(argv, prog))``, an :class:`InferenceError` exiting
    with ``PROG: error: ...``; ``prog`` defaults to the script's name."""
    prog = prog or osp.basename(sys.argv[0])
    args = parse_args(argv, prog)
    try:
        run(args)
    except InferenceError as e:
        sys.exit(f'{prog}: error: {e}')
