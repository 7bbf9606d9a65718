"""What the runtime's command lines share."""
import argparse
from typing import Sequence


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's ``(default: ...)`` on every option whose help text does
    not say it in words, unless it is required."""

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
