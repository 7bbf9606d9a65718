"""ONNX export of our segmentors and pose estimators with the metadata the
torch-free runtime reads (docs/deployment.md: the graph's inputs and outputs,
the metadata fields, and why the TorchScript-based exporter)."""
import copy
import io
import json
import os
import os.path as osp
import warnings
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import onnx
import torch
from mmengine.config import Config
from mmext_pixel_runtime.metadata import FORMAT_VERSION, METADATA_KEY
from mmseg.models.utils import Upsample
from torch import Tensor, nn

from mmext_pixel.models.segmentors.gated_scnn import GatedSCNN
from mmext_pixel.models.utils import ExactAdaptiveAvgPool2d
from mmext_pixel.utils.model_builder import build_model
from mmext_pixel.utils.run_config import POSE_SCOPE, test_dataset_metainfo

DEFAULT_OPSET = 17
CANNY_SOURCES = dict(
    image='uint8 image after test resize (and padding), in the channel '
    'order the model sees, before normalisation; values 0/1',
    official='the normalised input cast to uint8 with truncation and '
    'wrap-around (official_uint8); values 0/255')


class ExportGraph(nn.Module):
    """The module traced: a segmentor's ``encode_decode`` (Gated-SCNN: Canny
    map as second input, edge logits as second output) or a pose
    estimator's heatmaps.

    Args:
        model (nn.Module): A model from
            :func:`~mmext_pixel.utils.model_builder.build_model`.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.gated = isinstance(model, GatedSCNN)
        self.pose = model.cfg.get('default_scope') == POSE_SCOPE
        self.input_names = ['input', 'canny'][:1 + self.gated]
        self.output_names = ['heatmaps'] if self.pose else [
            'seg_logits', 'edge'
        ][:1 + self.gated]

    def forward(self, inputs: Tensor, canny: Optional[Tensor] = None):
        if self.pose:
            return self.model(inputs, None, mode='tensor')
        # a torch.Size img_shape makes predict_by_feat resize to it (as in
        # slide inference); traced, it follows the runtime input size
        metas = [dict(img_shape=inputs.shape[2:])]
        if not self.gated:
            return self.model.encode_decode(inputs, metas)
        feats = self.model.extract_feat_with_gradient(inputs, canny)
        logits = self.model.decode_head.predict_with_edge(
            feats, metas, self.model.test_cfg)
        return logits[:, :-1], logits[:, -1:]


def exportable(model: nn.Module) -> nn.Module:
    """A copy of ``model`` that exports exactly at any input size, eager
    outputs unchanged: adaptive average pools become
    :class:`ExactAdaptiveAvgPool2d`, and mmseg's integer-factor ``Upsample``
    (its ``int()`` of the shape is a constant in a trace) ``nn.Upsample``."""
    model = copy.deepcopy(model)
    for module in list(model.modules()):
        for name, child in module.named_children():
            if type(child) is nn.AdaptiveAvgPool2d:
                setattr(module, name,
                        ExactAdaptiveAvgPool2d(child.output_size))
            elif type(child) is Upsample and not child.size and all(
                    f is not None and float(f).is_integer()
                    for f in np.atleast_1d(child.scale_factor)):
                setattr(
                    module, name,
                    nn.Upsample(
                        scale_factor=child.scale_factor,
                        mode=child.mode,
                        align_corners=child.align_corners))
    return model


def _preprocess_meta(pre: nn.Module) -> dict:
    normalize = getattr(pre, '_enable_normalize', False)
    test_cfg = getattr(pre, 'test_cfg', None) or {}
    divisor = test_cfg.get('size_divisor',
                           getattr(pre, 'pad_size_divisor', None))
    pad_size = test_cfg.get('size')

    def decimals(buffer, default):
        # the float32 buffers, printed as the config's decimals
        return [float(str(np.float32(v)))
                for v in buffer.flatten()] if normalize else [default] * 3

    return dict(
        mean=decimals(pre.mean, 0.0),
        std=decimals(pre.std, 1.0),
        bgr_to_rgb=bool(
            getattr(pre, 'channel_conversion',
                    getattr(pre, '_channel_conversion', False))),
        pad_val=getattr(pre, 'pad_val', getattr(pre, 'pad_value', 0)),
        size_divisor=int(divisor) if divisor and divisor > 1 else None,
        pad_size=[int(s) for s in pad_size] if pad_size else None)


def _test_resize(cfg: Config) -> Optional[dict]:
    """The test pipeline's Resize (``cfg.test_pipeline``, as mmseg's
    inference_model)."""
    key = 'test_pipeline'
    pipeline = cfg.get(key)
    if pipeline is None:
        key = 'test_dataloader.dataset.pipeline'
        pipeline = cfg.test_dataloader.dataset.get('pipeline', [])
    resizes = [t for t in pipeline if 'Resize' in t['type'].split('.')[-1]]
    if not resizes:
        return None
    if len(resizes) > 1 or resizes[0]['type'].split('.')[-1] != 'Resize' \
            or resizes[0].get('scale') is None:
        raise ValueError(
            f'{cfg.filename}: {key} resizes with {resizes}; the ONNX '
            'metadata describes one Resize with a scale (w, h)')
    return dict(
        scale=[int(s) for s in resizes[0]['scale']],
        keep_ratio=bool(resizes[0].get('keep_ratio', False)))


def _dataset_meta(model: nn.Module) -> dict:
    """Classes and palette: the checkpoint's dataset_meta (as mmseg's
    init_model), else the test dataset's."""
    meta = getattr(model, 'dataset_meta', None) or {}
    if 'classes' not in meta:
        meta = test_dataset_metainfo(model.cfg)
    classes = [str(c) for c in meta.get('classes', ())]
    num_classes = model.decode_head.num_classes
    if len(classes) != num_classes:
        raise ValueError(
            f'{model.cfg.filename}: the dataset has {len(classes)} classes, '
            f'the decode head num_classes={num_classes}')
    palette = meta.get('palette')
    if not palette or len(palette) < num_classes:
        # mmseg's BaseSegDataset draws a missing palette from seed 42
        palette = np.random.RandomState(42).randint(0, 255, (num_classes, 3))
    return dict(
        classes=classes,
        palette=[[int(v) for v in c] for c in list(palette)[:num_classes]])


def export_metadata(model: nn.Module,
                    shape: Sequence[int],
                    dynamic: bool,
                    opset: int,
                    config: Optional[str] = None) -> dict:
    """The ``mmext_pixel`` metadata of an export of ``model``.

    Args:
        model (nn.Module): A model from
            :func:`~mmext_pixel.utils.model_builder.build_model`.
        shape (Sequence[int]): Export input (H, W).
        dynamic (bool): Whether batch, H and W are dynamic.
        opset (int): ONNX opset.
        config (str, optional): Config path to record. Defaults to
            ``model.cfg.filename``.
    """
    cfg, graph = model.cfg, ExportGraph(model)
    meta = dict(
        format_version=FORMAT_VERSION,
        task='pose' if graph.pose else 'seg',
        config=config or cfg.filename,
        inputs=graph.input_names,
        outputs=graph.output_names,
        preprocess=_preprocess_meta(model.data_preprocessor),
        dynamic=bool(dynamic),
        export_shape=[int(s) for s in shape],
        opset=int(opset))
    if graph.pose:
        codec = cfg.get('codec') or {}
        sizes = ('input_size', 'heatmap_size')
        meta.update(test_resize=None)
        meta.update({k: list(codec[k]) if k in codec else None for k in sizes})
        return meta
    test_cfg = model.test_cfg or {}
    slide = test_cfg.get('mode', 'whole') == 'slide'
    meta.update(
        num_classes=int(model.decode_head.num_classes),
        **_dataset_meta(model),
        test_resize=_test_resize(cfg),
        test_mode=test_cfg.get('mode', 'whole'),
        crop_size=list(test_cfg['crop_size']) if slide else None,
        stride=list(test_cfg['stride']) if slide else None,
        align_corners=bool(model.decode_head.align_corners),
        canny=None)
    if isinstance(model, GatedSCNN):
        low, high = model.canny_thresholds
        mode = model.gradient_mode
        meta['canny'] = dict(
            low=low, high=high, mode=mode, source=CANNY_SOURCES[mode])
        meta['edge'] = 'edge logits at the input size; sigmoid gives the ' \
            'edge probability (pred_edge_map)'
    return meta


def export_onnx(cfg_or_model: Union[str, Config, nn.Module],
                checkpoint: Optional[str] = None,
                shape: Sequence[int] = (512, 1024),
                out: str = 'model.onnx',
                dynamic: bool = False,
                opset: int = DEFAULT_OPSET,
                cfg_options: Optional[dict] = None) -> dict:
    """Export a segmentor or pose estimator to ONNX with our metadata.

    Args:
        cfg_or_model (str | Config | nn.Module): Config (path) or a model
            from :func:`~mmext_pixel.utils.model_builder.build_model`.
        checkpoint (str, optional): Weights for a config. Defaults to None.
        shape (Sequence[int]): Input (H, W) traced. Defaults to (512, 1024).
        out (str): Output .onnx path. Defaults to 'model.onnx'.
        dynamic (bool): Make batch, H and W dynamic. Defaults to False.
        opset (int): ONNX opset. Defaults to 17.
        cfg_options (dict, optional): Config overrides. Defaults to None.

    Returns:
        dict: The metadata stored under ``metadata_props['mmext_pixel']``.
    """
    model = cfg_or_model
    if not isinstance(model, nn.Module):
        model = build_model(model, checkpoint, cfg_options)
    elif checkpoint is not None or cfg_options:
        raise ValueError('checkpoint and cfg_options apply to a config; '
                         'pass a built model without them')
    elif not isinstance(getattr(model, 'cfg', None), Config):
        raise ValueError('export_onnx needs the model\'s config as '
                         'model.cfg (build_model sets it)')
    shape = check_shape(shape)
    graph = ExportGraph(exportable(model)).eval()
    # the trace records shapes and ops, not values
    x = torch.ones(1, 3, *shape)
    inputs = (x, torch.zeros_like(x[:, :1]))[:len(graph.input_names)]
    hw = dict(heatmaps=('heatmap_height', 'heatmap_width'))
    axes = {
        n: dict(zip((0, 2, 3), ('batch', *hw.get(n, ('height', 'width')))))
        for n in graph.input_names + graph.output_names
    }
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # shape-dependent Python branches are checked at two sizes by
        # verify_export; the tracer's warnings about them are noise here
        warnings.simplefilter('ignore')
        torch.onnx.export(
            graph,
            inputs,
            buf,
            dynamo=False,
            opset_version=opset,
            input_names=graph.input_names,
            output_names=graph.output_names,
            dynamic_axes=axes if dynamic else None,
            do_constant_folding=True)
        outs = graph(*inputs)
    proto = onnx.load_from_string(buf.getvalue())
    # the tracer leaves the output channels symbolic after a Resize; static,
    # they let the runtime check the class count without running the graph
    outs = outs if isinstance(outs, (tuple, list)) else (outs, )
    for value, y in zip(proto.graph.output, outs):
        dims = value.type.tensor_type.shape.dim
        if len(dims) == y.dim() >= 2 and not dims[1].HasField('dim_value'):
            dims[1].dim_value = int(y.shape[1])
    meta = export_metadata(model, shape, dynamic, opset,
                           getattr(model, 'config_path', None))
    onnx.helper.set_model_props(proto, {METADATA_KEY: json.dumps(meta)})
    onnx.checker.check_model(proto)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    onnx.save(proto, out)
    return meta


def check_shape(shape: Sequence[int]) -> Tuple[int, int]:
    """``shape`` as (H, W) positive integers, or a ValueError naming it."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 2 or min(shape) <= 0:
        raise ValueError(f'shape takes (H, W) positive integers, got {shape}')
    return shape
