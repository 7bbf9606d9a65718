"""Official models and metrics re-implemented as plain functions.

``spnet_reference`` and ``gald_dgcn_reference``: official keys, random
official-style state dicts and the eval-mode forward (``torch.nn.functional``
only); ``boundary_fscore_reference`` and ``seg_boundary_reference``:
Gated-SCNN's boundary F-measure and ground truth (on ``cityscapes_like``
maps). The parity tests, the converters and ``mmext_pixel.analysis`` compare
ours with them. Not imported by ``import mmext_pixel``.
"""
