"""model-index.yml and the configs/*/metafile.yaml it imports: every config
is listed once, every listed file exists, and the fields have mmseg's
model-zoo types and agree with the configs they describe."""
import glob
import numbers
import os.path as osp
import re

import pytest
import yaml

from conftest import REPO_ROOT
from mmext_pixel.utils.run_config import load_config

CONFIGS = sorted(
    osp.relpath(p, REPO_ROOT) for p in glob.glob(
        osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)
METAFILES = sorted(
    osp.relpath(p, REPO_ROOT)
    for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*', 'metafile.yaml')))
# a Results metric says whose number it is, e.g. 'mIoU(paper, ms+flip)'
SOURCED_METRIC = re.compile(r'^[A-Za-z]+\((paper|[\w-]+ README)\b.*\)$')


def load(path):
    with open(osp.join(REPO_ROOT, path)) as f:
        return yaml.safe_load(f)


def models():
    return [(path, m) for path in METAFILES for m in load(path)['Models']]


def described(model):
    """A model entry without its name and config path."""
    return {k: v for k, v in model.items() if k not in ('Name', 'Config')}


def alias_target(config):
    """The config that ``config`` only renames (its sole ``_base_``)."""
    with open(osp.join(REPO_ROOT, config)) as f:
        code = [line for line in f if not line.startswith('#')]
    (line, ) = code
    base = re.fullmatch(r"_base_ = '\./([\w.-]+\.py)'\n", line).group(1)
    return osp.join(osp.dirname(config), base)


def assert_repo_file_or_url(value, what):
    assert isinstance(value, str), what
    if not value.startswith('https://'):
        assert osp.isfile(osp.join(REPO_ROOT, value)), f'{what}: {value}'


def test_index_imports_every_metafile():
    index = load('model-index.yml')
    assert sorted(index['Import']) == METAFILES
    folders = {osp.dirname(p) for p in CONFIGS}
    assert {osp.dirname(p) for p in METAFILES} == folders


def test_every_config_listed_once_and_every_listed_config_exists():
    listed = [m['Config'] for _, m in models()]
    assert len(listed) == len(set(listed)), 'a config listed twice'
    assert sorted(listed) == CONFIGS


@pytest.mark.parametrize('path', METAFILES)
def test_collection_fields(path):
    meta = load(path)
    assert set(meta) == {'Collections', 'Models'}
    (coll, ) = meta['Collections']
    assert isinstance(coll['Name'], str)
    assert coll['License'] == 'Apache License 2.0'
    data = coll['Metadata']['Training Data']
    assert data and all(isinstance(d, str) for d in data)
    assert isinstance(coll['Paper']['Title'], str)
    assert coll['Paper']['URL'].startswith('https://arxiv.org/abs/')
    assert coll['README'] == osp.join(osp.dirname(path), 'README.md')
    assert osp.isfile(osp.join(REPO_ROOT, coll['README']))
    assert_repo_file_or_url(coll['Code']['URL'], 'Code.URL')
    assert re.fullmatch(r'v\d+\.\d+\.\d+', coll['Code']['Version'])
    assert coll['Official Repo'].startswith('https://github.com/')
    if 'Converted From' in coll:
        assert coll['Converted From']['Weights'].startswith('https://')
        assert_repo_file_or_url(coll['Converted From']['Code'],
                                'Converted From.Code')
    for model in meta['Models']:
        assert model['In Collection'] == coll['Name'], model['Name']
        # each model's training data is among the collection's
        trained_on = model['Metadata']['Training Data']
        assert trained_on.split(' train')[0] in data, model['Name']


@pytest.mark.parametrize(
    'path,model', models(), ids=[m['Name'] for _, m in models()])
def test_model_fields(path, model):
    name = model['Name']
    assert model['Config'] == osp.join(osp.dirname(path), f'{name}.py')
    assert 'Weights' not in model, 'we publish no trained weights'
    converted = model.get('Converted From')
    if converted is not None:
        assert converted['Weights'].startswith('https://')
        assert_repo_file_or_url(converted['Code'], 'Converted From.Code')
    results = model.get('Results', [])
    assert isinstance(results, list)
    for result in results:
        assert set(result) == {'Task', 'Dataset', 'Metrics'}
        assert result['Task'] in ('Semantic Segmentation', 'Body 2D Keypoint')
        assert isinstance(result['Dataset'], str)
        assert result['Metrics']
        for metric, value in result['Metrics'].items():
            assert SOURCED_METRIC.match(metric), metric
            assert isinstance(value, numbers.Real) and 0 < value < 100
    meta = model['Metadata']
    assert isinstance(meta['Training Data'], str)
    assert isinstance(meta['Training Resources'], str)
    arch = meta['Architecture']
    assert arch and all(isinstance(a, str) for a in arch)
    batch = re.search(r'_(\d+)xb(\d+)-', name)
    if batch is None:  # a docs name, a bare _base_ of an OpenMMLab name
        target = alias_target(model['Config'])
        (entry, ) = [m for _, m in models() if m['Config'] == target]
        assert described(model) == described(entry)
        return
    # the batch of mmseg/mmpose config names: GPUsxbIMAGES
    gpus, per_gpu = map(int, batch.groups())
    assert meta['Batch Size'] == gpus * per_gpu
    if meta['Training Resources'] != 'CPU':
        assert meta['Training Resources'] == (f'{gpus} GPUs'
                                              if gpus > 1 else '1 GPU')
    if 'Parameters' in meta:
        assert isinstance(meta['Parameters'], int)
    if 'FLOPs (G)' in meta:
        assert isinstance(meta['FLOPs (G)'], float)
        assert re.fullmatch(r'\d+x\d+', meta['FLOPs Input Size'])


# small models only, to stay fast; as get_flops.py counts them (without the
# training-only auxiliary head)
@pytest.mark.parametrize('name', [
    'fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024',
    'fcn_hr18s-v2_4xb2-80k_cityscapes-512x1024',
    'gsto_hrnet-w18s_8xb2-90k_cityscapes-512x1024',
    'fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-128x128',
])
def test_parameters_are_those_of_the_model(name):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    (model, ) = [m for _, m in models() if m['Name'] == name]
    cfg = load_config(osp.join(REPO_ROOT, model['Config']))
    cfg.model.pretrained = None
    init_default_scope('mmseg')
    segmentor = MODELS.build(cfg.model)
    count = sum(p.numel() for n, p in segmentor.named_parameters()
                if not n.startswith('auxiliary_head.'))
    assert model['Metadata']['Parameters'] == count


def test_mmengine_finds_a_model_through_the_index():
    from mmengine.config.utils import _get_cfg_metainfo

    import mmext_pixel
    info = _get_cfg_metainfo(
        osp.dirname(mmext_pixel.__file__), 'gsto/gsto_hrnet_w48_cityscapes.py')
    assert info['Config'] == 'configs/gsto/gsto_hrnet_w48_cityscapes.py'
    assert info['Metadata']['Parameters'] == 66017297
