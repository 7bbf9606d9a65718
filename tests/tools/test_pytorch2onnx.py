"""tools/deployment/pytorch2onnx.py: a dynamic export verified against
eager PyTorch from the command line, its metadata as the runtime reads it,
and exit status 1 when verification fails. The export itself:
tests/deployment/test_export.py."""
import numpy as np
import pytest

from conftest import (DEMO_CONFIG, REPO_ROOT, import_deploy_package, load_tool,
                      run_tool)

onnx = import_deploy_package('onnx')
ort = import_deploy_package('onnxruntime')
runtime = import_deploy_package('mmext_pixel_runtime')
stored_metadata = import_deploy_package(
    'helpers.onnx_parity').stored_metadata  # it imports onnx

TOOL = ['tools/deployment/pytorch2onnx.py']


@pytest.mark.slow
def test_cli_dynamic_export_with_verify(tmp_path):
    out = tmp_path / 'hr18s.onnx'
    proc = run_tool(
        TOOL + [
            DEMO_CONFIG, '--shape', '64', '96', '--out',
            str(out), '--dynamic', '--verify'
        ],
        cwd=REPO_ROOT)
    assert proc.stdout.count(': OK') == 2, proc.stdout
    assert 'input 64x96, batch 1' in proc.stdout
    assert 'input 81x121, batch 2' in proc.stdout
    meta = stored_metadata(str(out))
    # the runtime reads what was written
    assert runtime.read_metadata(str(out)).raw == meta
    assert meta == dict(
        format_version=1,
        task='seg',
        config=DEMO_CONFIG,
        inputs=['input'],
        outputs=['seg_logits'],
        preprocess=dict(
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            pad_val=0,
            size_divisor=None,
            pad_size=None),
        dynamic=True,
        export_shape=[64, 96],
        opset=17,
        num_classes=3,
        classes=['background', 'built-up', 'road'],
        palette=[[34, 139, 34], [220, 20, 60], [128, 128, 128]],
        test_resize=None,
        test_mode='whole',
        crop_size=None,
        stride=None,
        align_corners=False,
        canny=None)
    # the graph runs any batch and size
    session = ort.InferenceSession(str(out))
    x = np.random.default_rng(0).normal(size=(3, 3, 40, 72))
    (logits, ) = session.run(None, {'input': x.astype(np.float32)})
    assert logits.shape == (3, 3, 40, 72)


def test_cli_exits_1_when_parity_fails(tmp_path, monkeypatch):
    tool = load_tool('deployment', 'pytorch2onnx.py')
    calls = []

    def export(model, ckpt, shape, out, dynamic, opset):
        calls.append(('export', list(shape), out, dynamic, opset))
        return dict(export_shape=list(shape), dynamic=dynamic, opset=opset)

    def failing(model, out, meta, other_shape):
        calls.append(('verify', out, meta['export_shape'], other_shape))
        return [dict(shape=[64, 96], batch_size=1, ok=False)]

    monkeypatch.setattr(tool, 'export_onnx', export)
    monkeypatch.setattr(tool, 'verify_export', failing)
    out = str(tmp_path / 'm.onnx')
    args = [
        DEMO_CONFIG, '--shape', '64', '96', '--out', out, '--opset', '16',
        '--verify', '--verify-shape', '50', '70'
    ]
    assert tool.main(args) == 1
    assert calls == [('export', [64, 96], out, False, 16),
                     ('verify', out, [64, 96], [50, 70])]
    assert tool.main(args[:-4]) == 0
