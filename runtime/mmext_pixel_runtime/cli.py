"""What the runtime's command lines share."""
import argparse


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
