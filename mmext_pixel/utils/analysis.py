"""Moved to :mod:`mmext_pixel.analysis.timing` (the timer, summaries, report
line, memory and load probes) and :mod:`mmext_pixel.analysis.measured_model`
(a config's model and its input); imported from here by the tools that have
not moved to the new modules yet."""
from mmext_pixel.analysis.measured_model import (DEFAULT_SHAPES, TensorForward,
                                                 add_shape_arg, build_model,
                                                 dummy_inputs, input_shape)
from mmext_pixel.analysis.timing import (check_device, load_average,
                                         maxrss_mib, report_line,
                                         reset_peak_rss, rss_kib, summarise,
                                         time_alternately)

__all__ = [
    'DEFAULT_SHAPES', 'TensorForward', 'add_shape_arg', 'build_model',
    'check_device', 'dummy_inputs', 'input_shape', 'load_average',
    'maxrss_mib', 'report_line', 'reset_peak_rss', 'rss_kib', 'summarise',
    'time_alternately'
]
