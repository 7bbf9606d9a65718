"""Official models (keys, random state dicts, eval-mode forward) and
Gated-SCNN's boundary metric and ground truth as plain functions, for the
parity tests, the converters and ``mmext_pixel.analysis`` to compare with.
"""
