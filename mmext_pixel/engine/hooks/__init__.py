from .class_count_check_hook import (ClassCountCheckHook, ClassCountError,
                                     check_class_counts)
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook

__all__ = [
    'ClassCountCheckHook', 'ClassCountError', 'NonFiniteLossError',
    'NonFiniteLossHook', 'check_class_counts'
]
