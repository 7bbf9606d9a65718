"""Forward time of our SPHead and strip-pooling trunk vs the official
arithmetic, with the same weights on the same input.

    python tools/analysis_tools/benchmark_strip_pooling.py [CONFIG]
        [--shape H W] [--warmup 3] [--runs 10] [--out RESULT.json]

CONFIG defaults to configs/spnet/spnet_r50-d8_4xb4-152k_ade20k-480x480.py
and --shape to its 480x480 crop. A random official-style SPNet state dict
(keys and shapes as houqb/SPNet's, mmext_pixel.testing.spnet_reference) is
converted by mmext_pixel.converters.spnet into the config's model
(SyncBN reverted to BN, eval mode, no gradients), and on CPU (the threads
torch is set to use; OMP_NUM_THREADS) we time

- the head: our SPHead on the layer4 feature vs the official SPHead
  arithmetic (mixed pooling strips upsampled with F.interpolate);
- the trunk: our BlockPluginResNetV1c with StripPoolingBlocks vs the
  official dilated ResNet with SPBlocks (strips expanded);

The official arithmetic is mmext_pixel.testing.spnet_reference, which the
tests use too (written from the official code's behaviour, no official
code): the same torch operators the official modules call. Outputs are
compared (max abs difference printed) before timing.
"""
import argparse
import os.path as osp
import statistics

import mmengine
import torch
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

from mmext_pixel.converters import spnet
from mmext_pixel.testing import spnet_reference as ref
from mmext_pixel.utils.analysis import time_alternately
from mmext_pixel.utils.run_config import load_config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', 'spnet',
                          'spnet_r50-d8_4xb4-152k_ade20k-480x480.py')


def _summary(times):
    return dict(
        mean_ms=statistics.fmean(times),
        median_ms=statistics.median(times),
        min_ms=min(times),
        times_ms=times)


def run(config=DEFAULT_CONFIG, shape=None, warmup=3, runs=10, seed=0):
    """Build, check and time; returns a dict of the results."""
    cfg = load_config(config)
    init_default_scope(cfg.default_scope)
    from mmseg.registry import MODELS
    cfg.model.pretrained = None
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.eval()
    depth = cfg.model.backbone.depth
    num_classes = cfg.model.decode_head.num_classes
    official_sd = ref.random_official_state_dict(
        depth, num_classes=num_classes, seed=seed)
    model.load_state_dict(spnet.convert(official_sd).state_dict, strict=True)
    official = ref.OfficialSPNet(official_sd, depth=depth)

    if shape is None:
        shape = cfg.get('crop_size', (512, 512))
    torch.manual_seed(seed)
    img = torch.randn(1, 3, *shape)
    with torch.no_grad():
        feats = model.backbone(img)
        c3, c4 = official.trunk(img)
        ours_head = model.decode_head(feats)
        official_head = official.head(c4)
    diffs = dict(
        trunk=(feats[3] - c4).abs().max().item(),
        head=(ours_head - official_head).abs().max().item())
    results = dict(
        config=config,
        shape=tuple(shape),
        feature_shape=tuple(c4.shape),
        threads=torch.get_num_threads(),
        max_abs_diff=diffs)
    cases = dict(
        head=(lambda: model.decode_head(feats), lambda: official.head(c4)),
        trunk=(lambda: model.backbone(img), lambda: official.trunk(img)))
    for name, (ours, theirs) in cases.items():
        with torch.no_grad():
            times = time_alternately(
                dict(ours=ours, official=theirs), runs, warmup)
        t_ours, t_theirs = times['ours'], times['official']
        results[name] = dict(
            ours=_summary(t_ours),
            official=_summary(t_theirs),
            ratio=statistics.median(t_ours) / statistics.median(t_theirs))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='SPHead and strip-pooling trunk vs the official '
        'arithmetic (CPU forward time)')
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument(
        '--shape', type=int, nargs=2, metavar=('H', 'W'), help='input size')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--out', help='write the results to this JSON file')
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error('--runs must be >= 1 and --warmup >= 0')
    r = run(args.config, args.shape, args.warmup, args.runs)
    print(f'input {r["shape"]}, layer4 feature {r["feature_shape"]}, '
          f'{r["threads"]} thread(s), {args.runs} runs each')
    for name in ('head', 'trunk'):
        res = r[name]
        print(f'{name}: ours median {res["ours"]["median_ms"]:.1f} ms '
              f'(mean {res["ours"]["mean_ms"]:.1f}), official arithmetic '
              f'median {res["official"]["median_ms"]:.1f} ms (mean '
              f'{res["official"]["mean_ms"]:.1f}); ours / official '
              f'{res["ratio"]:.3f}; max abs diff '
              f'{r["max_abs_diff"][name]:.2e}')
    if args.out:
        mmengine.dump(r, args.out, file_format='json', indent=2)
    return r


if __name__ == '__main__':
    main()
