"""Checkpoints as numpy 1 writes them, made under numpy 2.

numpy 2 moved ``numpy.core`` to ``numpy._core``; a pickle names numpy's
functions by the module of the numpy that wrote it, so files written under
numpy 1 (the official releases) say ``numpy.core.multiarray.*``.
"""
import io

import torch


def save_with_numpy1_names(obj, path):
    """``torch.save`` in the legacy format (pickle protocol 2, names in
    plain text) with numpy's functions renamed as numpy 1 names them."""
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=False)
    data = buffer.getvalue()
    renamed = data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    assert b'numpy.core.multiarray' in renamed, 'no numpy function pickled'
    path.write_bytes(renamed)
