from .adaptive_pool import (ExactAdaptiveAvgPool2d, adaptive_avg_pool2d,
                            exact_adaptive_avg_pool2d, pooling_matrix)
from .biased_conv_module import biased_conv_module
from .context_sandwich_head import ContextSandwichHead
from .depthwise_down import depthwise_down
from .float32 import in_float32
from .resize import resize_to
from .stage_predictor import StagePredictor

__all__ = [
    'ContextSandwichHead', 'ExactAdaptiveAvgPool2d', 'StagePredictor',
    'adaptive_avg_pool2d', 'biased_conv_module', 'depthwise_down',
    'exact_adaptive_avg_pool2d', 'in_float32', 'pooling_matrix', 'resize_to'
]
