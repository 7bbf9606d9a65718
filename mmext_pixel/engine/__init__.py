from .fit_checked_runner import FitCheckedRunner
from .hooks import (ClassCountCheckHook, ClassCountError, NonFiniteLossError,
                    NonFiniteLossHook)
from .training_guards import GUARD_HOOKS, add_training_guards

__all__ = [
    'ClassCountCheckHook', 'ClassCountError', 'FitCheckedRunner',
    'GUARD_HOOKS', 'NonFiniteLossError', 'NonFiniteLossHook',
    'add_training_guards'
]
