"""The ``mmext_pixel`` metadata entry of an exported segmentation model.

``tools/deployment/pytorch2onnx.py`` stores it as JSON under the ONNX model's
``metadata_props['mmext_pixel']`` (docs/deployment.md, "Model metadata");
:func:`read_metadata` checks it against the graph and returns it typed.
"""
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

METADATA_KEY = 'mmext_pixel'
FORMAT_VERSION = 1
# the keys the runtime reads, with the type each must have
SEG_KEYS = {
    'format_version': int,
    'task': str,
    'inputs': list,
    'outputs': list,
    'num_classes': int,
    'classes': list,
    'palette': list,
    'preprocess': dict,
    'test_resize': (dict, type(None)),
    'test_mode': str,
    'crop_size': (list, type(None)),
    'stride': (list, type(None)),
    'align_corners': bool,
    'canny': (dict, type(None)),
}
PREPROCESS_KEYS = ('mean', 'std', 'bgr_to_rgb', 'pad_val', 'size_divisor',
                   'pad_size')


class InferenceError(Exception):
    """A model or input that cannot be used; the message names it."""


@dataclass(frozen=True)
class Preprocess:
    """``SegDataPreProcessor`` as exported.

    Args:
        mean (Sequence[float], optional): Per-channel mean (after the channel
            flip); None leaves the values unnormalised.
        std (Sequence[float], optional): Per-channel std.
        bgr_to_rgb (bool): Flip BGR input to RGB.
        pad_val (float): Padding value.
        size_divisor (int, optional): Pad H and W to multiples of it.
        pad_size (Tuple[int, int], optional): Pad to at least (H, W).
    """
    mean: Optional[Tuple[float, ...]]
    std: Optional[Tuple[float, ...]]
    bgr_to_rgb: bool
    pad_val: float
    size_divisor: Optional[int]
    pad_size: Optional[Tuple[int, int]]


@dataclass(frozen=True)
class TestResize:
    """The test pipeline's ``Resize`` step.

    Args:
        scale (Tuple[int, int]): Target (w, h).
        keep_ratio (bool): mmcv's ``imrescale`` rule instead of an exact size.
    """
    scale: Tuple[int, int]
    keep_ratio: bool


@dataclass(frozen=True)
class Canny:
    """Gated-SCNN's Canny input.

    Args:
        low (float): Lower hysteresis threshold.
        high (float): Upper hysteresis threshold.
        mode (str): 'image' (the de-normalised image, scaled to [0, 1]) or
            'official' (the normalised input cast to uint8).
    """
    low: float
    high: float
    mode: str


@dataclass(frozen=True)
class ModelMeta:
    """What an exported segmentation model needs around its graph.

    Args:
        num_classes (int): Output channels of the logits.
        classes (Tuple[str, ...]): Class names.
        palette (Tuple[Tuple[int, int, int], ...]): RGB colour per class.
        inputs (Tuple[str, ...]): Graph input names (image, then Canny).
        outputs (Tuple[str, ...]): Graph output names (logits first).
        preprocess (Preprocess): The data preprocessor.
        test_resize (TestResize, optional): The test pipeline's Resize.
        test_mode (str): 'whole' or 'slide'.
        crop_size (Tuple[int, int], optional): Slide crops (H, W).
        stride (Tuple[int, int], optional): Slide stride (H, W).
        align_corners (bool): The head's ``align_corners`` for resizing the
            logits back.
        canny (Canny, optional): Gated-SCNN's Canny input, else None.
        config (str, optional): The config the model was exported from.
        raw (dict): The metadata as stored.
    """
    num_classes: int
    classes: Tuple[str, ...]
    palette: Tuple[Tuple[int, int, int], ...]
    inputs: Tuple[str, ...]
    outputs: Tuple[str, ...]
    preprocess: Preprocess
    test_resize: Optional[TestResize]
    test_mode: str
    crop_size: Optional[Tuple[int, int]]
    stride: Optional[Tuple[int, int]]
    align_corners: bool
    canny: Optional[Canny]
    config: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict:
        """The fields a client needs (``GET /model`` of the server)."""
        pre = self.preprocess
        return dict(
            num_classes=self.num_classes,
            classes=list(self.classes),
            palette=[list(c) for c in self.palette],
            inputs=list(self.inputs),
            outputs=list(self.outputs),
            preprocess=dict(
                mean=list(pre.mean) if pre.mean is not None else None,
                std=list(pre.std) if pre.std is not None else None,
                bgr_to_rgb=pre.bgr_to_rgb,
                pad_val=pre.pad_val,
                size_divisor=pre.size_divisor,
                pad_size=list(pre.pad_size) if pre.pad_size else None),
            test_resize=dict(
                scale=list(self.test_resize.scale),
                keep_ratio=self.test_resize.keep_ratio)
            if self.test_resize else None,
            test_mode=self.test_mode,
            crop_size=list(self.crop_size) if self.crop_size else None,
            stride=list(self.stride) if self.stride else None,
            align_corners=self.align_corners,
            canny=dict(
                low=self.canny.low, high=self.canny.high, mode=self.canny.mode)
            if self.canny else None,
            config=self.config,
            # how an int8 model was made (None for an fp32 one)
            quantization=self.raw.get('quantization'))


def _pair(value: Optional[Sequence]) -> Optional[Tuple[int, int]]:
    return None if value is None else tuple(int(v) for v in value)


def parse_metadata(text: str, model_path: str) -> dict:
    """The metadata JSON as a dict, its keys and types checked.

    Args:
        text (str): The stored JSON.
        model_path (str): The ONNX file (named in errors).
    """
    try:
        meta = json.loads(text)
    except ValueError as e:
        raise InferenceError(f'{model_path}: the {METADATA_KEY!r} metadata '
                             f'is not JSON ({e})') from None
    if not isinstance(meta, dict):
        raise InferenceError(f'{model_path}: the {METADATA_KEY!r} metadata '
                             'is not a JSON object')
    version = meta.get('format_version')
    if version != FORMAT_VERSION:
        raise InferenceError(
            f'{model_path}: metadata format_version {version!r}; this '
            f'runtime reads version {FORMAT_VERSION}')
    if meta.get('task') != 'seg':
        raise InferenceError(
            f'{model_path}: metadata task is {meta.get("task")!r}; '
            "the runtime runs segmentation models (task 'seg')")
    for key, kind in SEG_KEYS.items():
        if key not in meta:
            raise InferenceError(
                f'{model_path}: metadata key {key!r} is missing')
        if not isinstance(meta[key], kind):
            raise InferenceError(
                f'{model_path}: metadata key {key!r} has the value '
                f'{meta[key]!r} of the wrong type')
    for key in PREPROCESS_KEYS:
        if key not in meta['preprocess']:
            raise InferenceError(
                f'{model_path}: metadata key {key!r} of "preprocess" is '
                'missing')
    if meta['test_mode'] not in ('whole', 'slide'):
        raise InferenceError(f'{model_path}: metadata test_mode '
                             f'{meta["test_mode"]!r} is not whole or slide')
    if meta['test_mode'] == 'slide' and not (meta['crop_size']
                                             and meta['stride']):
        raise InferenceError(f'{model_path}: metadata test_mode is slide '
                             'but crop_size or stride is null')
    if meta['canny'] is not None:
        for key in ('low', 'high', 'mode'):
            if key not in meta['canny']:
                raise InferenceError(f'{model_path}: metadata key {key!r} of '
                                     '"canny" is missing')
        if meta['canny']['mode'] not in ('image', 'official'):
            raise InferenceError(f'{model_path}: metadata canny mode '
                                 f'{meta["canny"]["mode"]!r} is unknown')
    if (meta['canny'] is None) != (len(meta['inputs']) == 1):
        raise InferenceError(
            f'{model_path}: metadata inputs {meta["inputs"]} do not fit '
            f'canny {meta["canny"]}')
    if not meta['outputs']:
        raise InferenceError(f'{model_path}: the metadata names no outputs')
    return meta


def check_graph(meta: dict, model_path: str, graph_inputs: List[str],
                graph_outputs: List[str], out_channels: Optional[int]) -> None:
    """The metadata agrees with the graph: input and output names, and the
    class count with the logits' channels.

    Args:
        meta (dict): From :func:`parse_metadata`.
        model_path (str): The ONNX file (named in errors).
        graph_inputs (List[str]): The graph's input names.
        graph_outputs (List[str]): The graph's output names.
        out_channels (int, optional): Channels of the logits output; None
            when the graph leaves them symbolic (checked at the first run).
    """
    for name in meta['inputs']:
        if name not in graph_inputs:
            raise InferenceError(
                f'{model_path}: the metadata names the input {name!r}, the '
                f'graph has {graph_inputs}')
    if meta['outputs'][0] not in graph_outputs:
        raise InferenceError(
            f'{model_path}: the metadata names the outputs '
            f'{meta["outputs"]}, the graph has {graph_outputs}')
    if out_channels is not None:
        check_class_count(meta, model_path, out_channels)


def check_class_count(meta: dict, model_path: str, channels: int) -> None:
    """``num_classes``, ``classes`` and ``palette`` all count the logits'
    ``channels``.

    Args:
        meta (dict): From :func:`parse_metadata`.
        model_path (str): The ONNX file (named in errors).
        channels (int): Channels of the graph's logits.
    """
    counts = dict(
        num_classes=meta['num_classes'],
        classes=len(meta['classes']),
        palette=len(meta['palette']))
    wrong = {k: v for k, v in counts.items() if v != channels}
    if wrong:
        words = dict(
            num_classes='num_classes={}',
            classes='{} class names',
            palette='{} palette colours')
        said = ', '.join(words[k].format(v) for k, v in wrong.items())
        raise InferenceError(
            f'{model_path}: the metadata says {said}, but the graph\'s '
            f'output {meta["outputs"][0]!r} has {channels} channels (one per '
            'class); re-export the model with tools/deployment/'
            'pytorch2onnx.py')


def to_model_meta(meta: dict) -> ModelMeta:
    """:class:`ModelMeta` of a checked metadata dict.

    Args:
        meta (dict): From :func:`parse_metadata`.
    """
    pre = meta['preprocess']
    resize = meta['test_resize']
    canny = meta['canny']
    return ModelMeta(
        num_classes=int(meta['num_classes']),
        classes=tuple(str(c) for c in meta['classes']),
        palette=tuple(tuple(int(v) for v in c) for c in meta['palette']),
        inputs=tuple(meta['inputs']),
        outputs=tuple(meta['outputs']),
        preprocess=Preprocess(
            mean=tuple(
                float(v)
                for v in pre['mean']) if pre['mean'] is not None else None,
            std=tuple(float(v)
                      for v in pre['std']) if pre['std'] is not None else None,
            bgr_to_rgb=bool(pre['bgr_to_rgb']),
            pad_val=float(pre['pad_val']),
            size_divisor=int(pre['size_divisor'])
            if pre['size_divisor'] else None,
            pad_size=_pair(pre['pad_size'])),
        test_resize=TestResize(
            scale=_pair(resize['scale']),
            keep_ratio=bool(resize['keep_ratio']))
        if resize is not None else None,
        test_mode=meta['test_mode'],
        crop_size=_pair(meta['crop_size']),
        stride=_pair(meta['stride']),
        align_corners=meta['align_corners'],
        canny=Canny(
            low=float(canny['low']),
            high=float(canny['high']),
            mode=canny['mode']) if canny is not None else None,
        config=meta.get('config'),
        raw=meta)
