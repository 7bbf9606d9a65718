"""What the runtime's command lines share."""
import argparse
from typing import Sequence


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` names every option's default: argparse's own
    ``(default: ...)`` unless the help text already says it in words (for
    defaults such as None that mean something else) or the option is
    required."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ''
        if '(default' in text or not action.option_strings or \
                action.required or action.default is argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


def check_bounds(parser: argparse.ArgumentParser,
                 args: argparse.Namespace,
                 names: Sequence[str],
                 minimum: float = 1,
                 strict: bool = False) -> None:
    """``parser.error`` for the first of the options ``names`` (dests) set
    below ``minimum`` (or at it, if ``strict``).

    Args:
        parser (ArgumentParser): The parser, to report the error.
        args (Namespace): Its parsed arguments.
        names (Sequence[str]): Dests of the options to check.
        minimum (float): The bound. Defaults to 1.
        strict (bool): The bound itself is out. Defaults to False.
    """
    for name in names:
        value = getattr(args, name)
        if value is not None and (value <= minimum
                                  if strict else value < minimum):
            parser.error(f'--{name.replace("_", "-")} must be '
                         f'{">" if strict else ">="} {minimum:g}, got {value}')
