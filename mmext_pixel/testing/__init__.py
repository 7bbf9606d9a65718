"""Official models re-implemented as plain functions of their checkpoints.

One module per method (``spnet_reference``, ``gald_dgcn_reference``): the
official keys and shapes, random official-style state dicts and the
official eval-mode arithmetic, written with ``torch.nn.functional`` only;
``boundary_fscore_reference``, Gated-SCNN's boundary F-measure step by step;
``seg_boundary_reference``, its boundary ground truth (``cityscapes_like``:
maps to compare them on);
and ``augmentation_reference``, the official training augmentations
(``mmext_pixel.analysis.official_heads`` pairs a config's head with its
reference on the same weights). The parity tests and the benchmarks in
``tools/analysis_tools`` compare our models with them. Not imported by
``import mmext_pixel``.
"""
