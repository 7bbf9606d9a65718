"""Export a real config (channels shrunk by cfg options) to ONNX and check
ONNX Runtime against PyTorch at two sizes (tests/deployment)."""
import json
import os.path as osp

import onnx
import torch

from mmext_pixel.deployment import export_onnx, verify_export
from mmext_pixel.utils.model_builder import build_model

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def stored_metadata(onnx_file):
    """The ``mmext_pixel`` entry of an ONNX file's metadata_props, as
    stored (read with onnx, independently of the runtime's reader)."""
    props = {p.key: p.value for p in onnx.load(onnx_file).metadata_props}
    return json.loads(props['mmext_pixel'])


def check_export(cfg_name, opts, shape, tmp_path, dynamic=True):
    """Export ``configs/<cfg_name>`` and assert parity at ``shape`` and at
    the second size; returns the model, the metadata and the results."""
    torch.manual_seed(0)
    model = build_model(osp.join(REPO, 'configs', cfg_name), None, opts)
    out = str(tmp_path / 'model.onnx')
    meta = export_onnx(model, None, shape, out, dynamic)
    assert stored_metadata(out) == meta
    results = verify_export(model, out, meta)
    assert [r['shape'] for r in results
            ] == [list(shape), [(s + s // 4) | 1 for s in shape]]
    for result in results:
        assert result['ok'], result
        for name in meta['outputs']:
            assert result[name]['max_abs_diff'] <= 1e-4
            if 'argmax_agreement' in result[name]:
                assert result[name]['argmax_disagreements'] == 0
    if dynamic:
        assert results[1]['batch_size'] == 2
    if meta['task'] == 'seg':
        assert meta['outputs'][0] == 'seg_logits'
        assert meta['num_classes'] == model.decode_head.num_classes
        assert len(meta['classes']) == len(meta['palette'])
    else:
        assert meta['outputs'] == ['heatmaps']
    return model, meta, results
