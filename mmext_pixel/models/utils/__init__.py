from .adaptive_pool import (ExactAdaptiveAvgPool2d, adaptive_avg_pool2d,
                            exact_adaptive_avg_pool2d, pooling_matrix)

__all__ = [
    'ExactAdaptiveAvgPool2d', 'adaptive_avg_pool2d',
    'exact_adaptive_avg_pool2d', 'pooling_matrix'
]
