"""The ``mmext_pixel`` metadata entry of an exported segmentation model:
JSON under the ONNX model's ``metadata_props['mmext_pixel']`` (docs/
deployment.md, "Model metadata"), checked and typed here."""
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Optional, Sequence, Tuple

METADATA_KEY = 'mmext_pixel'
FORMAT_VERSION = 1
# the keys the runtime reads, with the type each must have
_NONE = type(None)
SEG_KEYS = dict([('format_version', int), ('task', str), ('inputs', list),
                 ('outputs', list), ('num_classes', int), ('classes', list),
                 ('palette', list), ('preprocess', dict),
                 ('test_resize', (dict, _NONE)), ('test_mode', str),
                 ('crop_size', (list, _NONE)), ('stride', (list, _NONE)),
                 ('align_corners', bool), ('canny', (dict, _NONE))])
PREPROCESS_KEYS = ('mean', 'std', 'bgr_to_rgb', 'pad_val', 'size_divisor',
                   'pad_size')


class InferenceError(Exception):
    """A model or input that cannot be used; the message names it."""


@dataclass(frozen=True)
class Preprocess:
    """``SegDataPreProcessor``: ``mean``, ``std`` after ``bgr_to_rgb``
    (None: not normalised), padding to ``size_divisor`` or ``pad_size``."""
    mean: Optional[Tuple[float, ...]]
    std: Optional[Tuple[float, ...]]
    bgr_to_rgb: bool
    pad_val: float
    size_divisor: Optional[int]
    pad_size: Optional[Tuple[int, int]]


@dataclass(frozen=True)
class TestResize:
    """The test ``Resize`` to ``scale`` (w, h), or by ``imrescale``'s rule."""
    scale: Tuple[int, int]
    keep_ratio: bool


@dataclass(frozen=True)
class Canny:
    """Gated-SCNN's Canny input: hysteresis thresholds, and the ``mode``
    'image' (of the de-normalised image, scaled to [0, 1]) or 'official'
    (of the normalised input cast to uint8)."""
    low: float
    high: float
    mode: str


@dataclass(frozen=True)
class ModelMeta:
    """What an exported model needs around its graph: classes, RGB palette,
    graph inputs (image, Canny) and outputs (logits first), preprocessing,
    test ``Resize`` and ``test_mode`` ('whole' or 'slide', crop size and
    stride (H, W)), ``align_corners``, Canny input (None: not Gated-SCNN),
    source config and ``raw``, the metadata as stored."""
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
        """The fields a client needs (``GET /model`` of the server), with
        the ``quantization`` entry of an int8 model (None for fp32)."""
        fields = {k: v for k, v in asdict(self).items() if k != 'raw'}
        fields['quantization'] = self.raw.get('quantization')
        return json.loads(json.dumps(fields))  # tuples as lists


def _tuple(values: Optional[Sequence], kind: type = int) -> Optional[tuple]:
    return None if values is None else tuple(kind(v) for v in values)


def parse_metadata(text: str, model_path: str) -> dict:
    """The metadata JSON ``text`` of ``model_path``, keys and types checked."""
    try:
        meta = json.loads(text)
    except ValueError as e:
        raise InferenceError(f'{model_path}: the {METADATA_KEY!r} metadata is '
                             f'not JSON ({e})') from None
    problem = _problem(meta)
    if problem:
        raise InferenceError(f'{model_path}: {problem}')
    return meta


def _problem(meta: Any) -> Optional[str]:
    """The first thing wrong with parsed metadata, or None."""
    if not isinstance(meta, dict):
        return f'the {METADATA_KEY!r} metadata is not a JSON object'
    if meta.get('format_version') != FORMAT_VERSION:
        return (f'metadata format_version {meta.get("format_version")!r}; '
                f'this runtime reads version {FORMAT_VERSION}')
    if meta.get('task') != 'seg':
        return (f'metadata task is {meta.get("task")!r}; '
                "the runtime runs segmentation models (task 'seg')")
    for key, kind in SEG_KEYS.items():
        if key not in meta:
            return f'metadata key {key!r} is missing'
        if not isinstance(meta[key], kind):
            return (f'metadata key {key!r} has the value {meta[key]!r} of '
                    'the wrong type')
    canny = meta['canny']
    for part, keys in (('preprocess', PREPROCESS_KEYS),
                       ('canny', ('low', 'high', 'mode') if canny else ())):
        for key in keys:
            if key not in meta[part]:
                return f'metadata key {key!r} of "{part}" is missing'
    if meta['test_mode'] not in ('whole', 'slide'):
        return (f'metadata test_mode {meta["test_mode"]!r} is not whole or '
                'slide')
    if meta['test_mode'] == 'slide' and not (meta['crop_size']
                                             and meta['stride']):
        return 'metadata test_mode is slide but crop_size or stride is null'
    if canny is not None and canny['mode'] not in ('image', 'official'):
        return f'metadata canny mode {canny["mode"]!r} is unknown'
    if (canny is None) != (len(meta['inputs']) == 1):
        return f'metadata inputs {meta["inputs"]} do not fit canny {canny}'
    if not meta['outputs']:
        return 'the metadata names no outputs'
    return None


def check_class_count(meta: dict, model_path: str, channels: int) -> None:
    """Metadata ``num_classes``, ``classes`` and ``palette`` all count the
    logits' ``channels``."""
    said = ', '.join(
        text.format(count)
        for text, count in (('num_classes={}', meta['num_classes']),
                            ('{} class names', len(meta['classes'])),
                            ('{} palette colours', len(meta['palette'])))
        if count != channels)
    if said:
        raise InferenceError(
            f'{model_path}: the metadata says {said}, but the graph\'s '
            f'output {meta["outputs"][0]!r} has {channels} channels (one per '
            'class); re-export the model with tools/deployment/'
            'pytorch2onnx.py')


def to_model_meta(meta: dict) -> ModelMeta:
    """:class:`ModelMeta` of a dict from :func:`parse_metadata`."""
    pre, resize, canny = meta['preprocess'], meta['test_resize'], meta['canny']
    return ModelMeta(
        num_classes=int(meta['num_classes']),
        classes=tuple(str(c) for c in meta['classes']),
        palette=tuple(tuple(int(v) for v in c) for c in meta['palette']),
        inputs=tuple(meta['inputs']),
        outputs=tuple(meta['outputs']),
        preprocess=Preprocess(
            mean=_tuple(pre['mean'], float),
            std=_tuple(pre['std'], float),
            bgr_to_rgb=bool(pre['bgr_to_rgb']),
            pad_val=float(pre['pad_val']),
            size_divisor=int(pre['size_divisor'] or 0) or None,
            pad_size=_tuple(pre['pad_size'])),
        test_resize=None if resize is None else TestResize(
            _tuple(resize['scale']), bool(resize['keep_ratio'])),
        test_mode=meta['test_mode'],
        crop_size=_tuple(meta['crop_size']),
        stride=_tuple(meta['stride']),
        align_corners=meta['align_corners'],
        canny=None if canny is None else Canny(
            float(canny['low']), float(canny['high']), canny['mode']),
        config=meta.get('config'),
        raw=meta)
