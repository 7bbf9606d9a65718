"""``mmext-pixel-quantize``: static int8 quantisation of an exported
segmentation model (``pip install mmext-pixel-runtime[quantize]``), which the
runtime then runs as the fp32 one; ``--eval-images`` and ``--eval-labels``
report both models' mIoU and the pixels on which they agree."""
import argparse
import functools
import json
import os
import os.path as osp
import tempfile
from typing import Dict, Iterable, List, Optional, Sequence

import cv2
import numpy as np

from .cli import DefaultsHelpFormatter, check_bounds, run_cli
from .infer import list_images
from .metadata import METADATA_KEY, InferenceError
from .segmenter import Segmenter, decode_image

# the calibration methods, by onnxruntime's names
METHODS = dict(minmax='MinMax', entropy='Entropy', percentile='Percentile')


def quantize_qdq(model_path: str,
                 feeds: Iterable[Dict[str, np.ndarray]],
                 out_path: str,
                 calibrate_method=None,
                 skip_symbolic_shape: bool = False) -> Dict[str, int]:
    """onnxruntime's static int8 quantisation in QDQ format (per-channel
    int8 weights, uint8 activations) after its pre-processing, without whose
    graph optimisation convolutions whose bias the exporter shares through an
    ``Identity`` stay in fp32.

    Args:
        model_path (str): The fp32 model.
        feeds (Iterable[dict]): Calibration inputs, input name -> array.
        out_path (str): Where the int8 model goes.
        calibrate_method (CalibrationMethod, optional): Defaults to None
            (onnxruntime's, MinMax).
        skip_symbolic_shape (bool): Pre-process with onnx's shape inference
            only. Defaults to False.

    Returns:
        dict: ``quantized_convs`` (``QLinearConv`` nodes) and ``convs``.
    """
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader,
                                          CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Feeds(CalibrationDataReader):
        get_next = functools.partial(next, iter(feeds), None)

    with tempfile.TemporaryDirectory() as tmp:
        prepared = osp.join(tmp, 'prepared.onnx')
        quant_pre_process(
            model_path, prepared, skip_symbolic_shape=skip_symbolic_shape)
        quantize_static(
            prepared,
            out_path,
            Feeds(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=calibrate_method or CalibrationMethod.MinMax)
        # the graph as onnxruntime runs it, its QDQ pairs fused
        options = ort.SessionOptions()
        options.graph_optimization_level = \
            ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = osp.join(tmp, 'optimised.onnx')
        ort.InferenceSession(out_path, options, ['CPUExecutionProvider'])
        nodes = onnx.load(options.optimized_model_filepath).graph.node
    return dict(
        quantized_convs=sum(n.op_type == 'QLinearConv' for n in nodes),
        convs=sum(n.op_type in ('Conv', 'QLinearConv') for n in nodes))


def quantize(model_path: str,
             calib_images: Sequence[str],
             out_path: str,
             method: str = 'minmax') -> dict:
    """Quantise ``model_path`` to int8, calibrated on ``calib_images`` by its
    own preprocessing; returns the metadata's new ``quantization`` entry.

    Args:
        model_path (str): fp32 model from pytorch2onnx.py.
        calib_images (Sequence[str]): Image files for the activation ranges.
        out_path (str): Where the int8 model goes.
        method (str): 'minmax', 'entropy' or 'percentile'. Defaults to
            'minmax'.
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod

    if method not in METHODS:
        raise InferenceError(f'calibration method {method!r}: use one of '
                             f'{", ".join(METHODS)}')
    if not calib_images:
        raise InferenceError('no calibration images')
    model = Segmenter(model_path)  # a model the runtime cannot run stops here
    os.makedirs(osp.dirname(osp.abspath(out_path)), exist_ok=True)
    info = dict(
        method=method,
        format='QDQ',
        weights='int8 per channel',
        activations='uint8',
        calibration_images=len(calib_images))
    feeds = (
        feed for path in calib_images for feed in model.network_feeds(path))
    # onnx shape inference is enough for convolutional graphs;
    # onnxruntime's symbolic one gives up on dynamic Resize sizes
    info.update(
        quantize_qdq(model_path, feeds, out_path,
                     CalibrationMethod[METHODS[method]], True))
    proto = onnx.load(out_path)
    props = {e.key: e.value for e in proto.metadata_props}
    # the metadata of the fp32 model, as the runtime reads it
    props[METADATA_KEY] = json.dumps(dict(model.meta.raw, quantization=info))
    onnx.helper.set_model_props(proto, props)
    onnx.save(proto, out_path)
    return info


def evaluate(models: Dict[str, Segmenter],
             images: Sequence[str],
             labels_dir: str,
             ignore_index: int = 255) -> dict:
    """Each model's mIoU on ``images`` as mmseg's ``IoUMetric``, and the
    share of pixels on which it agrees with the first (the reference).

    Args:
        models (Dict[str, Segmenter]): The models.
        images (Sequence[str]): Image files.
        labels_dir (str): Folder of their label PNGs (same stems).
        ignore_index (int): Label to leave out. Defaults to 255.
    """
    names = list(models)
    n = models[names[0]].meta.num_classes
    inter, union = ({k: np.zeros(n) for k in names} for _ in range(2))
    agree, total = dict.fromkeys(names, 0), 0
    for path in images:
        img = decode_image(path)
        label = osp.join(labels_dir,
                         osp.splitext(osp.basename(path))[0] + '.png')
        if not osp.isfile(label):
            raise InferenceError(f'{label}: no label map for {path}')
        gt = cv2.imread(label, cv2.IMREAD_UNCHANGED)
        if gt is None or gt.shape != img.shape[:2]:
            raise InferenceError(f'{label}: not a label map of the size of '
                                 f'{path}')
        valid = gt != ignore_index
        preds = {k: m.predict(img) for k, m in models.items()}
        for k, pred in preds.items():
            p, g = pred[valid], gt[valid]
            hits, have, want = (
                np.bincount(v, minlength=n)[:n] for v in (p[p == g], p, g))
            inter[k] += hits
            union[k] += have + want - hits
            agree[k] += int((pred == preds[names[0]]).sum())
        total += gt.size
    with np.errstate(invalid='ignore', divide='ignore'):
        ious = {k: inter[k] / union[k] for k in names}
    return {
        k: dict(
            mIoU=float(np.nanmean(iou) * 100),
            IoU=[float(v * 100) for v in iou],
            agreement=agree[k] / total)
        for k, iou in ious.items()
    }


def parse_args(argv: Optional[Sequence[str]] = None,
               prog: Optional[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=prog,
        description='Quantise an exported segmentation model to int8 '
        '(static, QDQ, per-channel), calibrated on images',
        formatter_class=DefaultsHelpFormatter)
    add = parser.add_argument
    add('model', help='fp32 ONNX file from pytorch2onnx.py')
    add('--calib',
        required=True,
        help='folder of calibration images (required)')
    add('--num',
        type=int,
        help='use the first N images of --calib, sorted (default: all)')
    add('--out', required=True, help='the int8 ONNX file (required)')
    add('--method',
        choices=METHODS,
        default='minmax',
        help='activation range calibration')
    add('--eval-images',
        help='folder of images to evaluate fp32 and int8 on (default: no '
        'evaluation)')
    add('--eval-labels',
        help='their label PNGs, same stems (default: no evaluation)')
    args = parser.parse_args(argv)
    check_bounds(parser, args, ('num', ))
    if bool(args.eval_images) != bool(args.eval_labels):
        parser.error('--eval-images and --eval-labels go together')
    return args


def run(args: argparse.Namespace) -> dict:
    """Quantise (and evaluate) as the command line asks, printing a line for
    each; returns ``quantization`` and, with ``--eval-images``, ``eval``."""
    for path, what in ((args.model, 'model'), (args.calib, '--calib')):
        if not osp.exists(path):
            raise InferenceError(f'{path}: no such {what}')
    if not osp.isdir(args.calib):
        raise InferenceError(f'{args.calib}: --calib is not a folder')
    if osp.isdir(args.out):
        raise InferenceError(f'{args.out}: --out is a folder')
    if osp.abspath(args.out) == osp.abspath(args.model):
        raise InferenceError(f'{args.out}: --out would overwrite the '
                             'fp32 model')
    calib: List[str] = list_images(args.calib)[0][:args.num]
    info = quantize(args.model, calib, args.out, args.method)
    print(f'{args.out}: {info["quantized_convs"]} of {info["convs"]} '
          f'convolutions in int8, calibrated ({args.method}) on '
          f'{len(calib)} images of {args.calib}')
    result = dict(quantization=info)
    if args.eval_images:
        images = list_images(args.eval_images)[0]
        scores = evaluate(
            dict(fp32=Segmenter(args.model), int8=Segmenter(args.out)), images,
            args.eval_labels)
        for name, score in scores.items():
            print(f'{name}: mIoU {score["mIoU"]:.2f} (IoU per class '
                  f'{", ".join(f"{v:.2f}" for v in score["IoU"])}) on '
                  f'{len(images)} images; labels equal to fp32 on '
                  f'{100 * score["agreement"]:.2f} % of the pixels')
        result['eval'] = scores
    return result


def main(argv: Optional[Sequence[str]] = None,
         prog: Optional[str] = None) -> None:
    """Command-line entry point; ``prog`` names the program in messages
    (default: the script's name)."""
    run_cli(parse_args, run, argv, prog)


if __name__ == '__main__':
    main()
