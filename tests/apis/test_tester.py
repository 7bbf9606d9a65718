"""mmext_pixel.apis.tester in-process: the options that do not apply to a
config, and a test split that is indexed once (tools/test.py's command line
is run by the tests of tests/tools/)."""
import mmengine.runner.runner as mmengine_runner
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from conftest import DEMO_CONFIG
from mmext_pixel.apis.tester import TestOptionError, prepare_test, run_test
from mmext_pixel.engine import FitCheckedRunner
from mmext_pixel.utils.run_config import load_config


def data_options(root):
    return {
        f'{split}_dataloader.dataset.data_root': f'{root}/'
        for split in ('train', 'val', 'test')
    }


@pytest.fixture
def demo_checkpoint(tmp_path):
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(load_config(DEMO_CONFIG).model)
    path = tmp_path / 'demo.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


@pytest.mark.parametrize('options, message', [
    (dict(coco_test_dev=''), '--coco-test-dev is for COCO pose configs'),
    (dict(no_flip_test=True), '--no-flip-test is for pose configs; for '
     'segmentation use --aug-test --no-aug-flip'),
])
def test_pose_options_on_a_seg_config(synthetic_root, tmp_path, options,
                                      message):
    cfg = load_config(DEMO_CONFIG, data_options(synthetic_root))
    with pytest.raises(TestOptionError) as error:
        prepare_test(
            cfg,
            DEMO_CONFIG,
            'none.pth',
            work_dir=str(tmp_path / 'work'),
            log=lambda note: None,
            **options)
    assert str(error.value) == message


@pytest.mark.parametrize('aug_test', [False, True])
def test_test_split_is_indexed_once(synthetic_root, tmp_path, monkeypatch,
                                    demo_checkpoint, aug_test):
    """The test dataset is built once (to see whether it has labels) and
    that one is handed to the Runner, with or without test-time
    augmentation; the model runs on the device asked for, though mmengine
    picks the GPU (``get_device``) wherever one exists."""
    from mmext_pixel.datasets.pair_list_dataset import PairListSegDataset
    indexed, devices = [], []
    load_data_list = PairListSegDataset.load_data_list
    test = FitCheckedRunner.test

    def counting(self):
        indexed.append(self.split)
        return load_data_list(self)

    def on_device(self):
        devices.append(next(self.model.parameters()).device.type)
        return test(self)

    monkeypatch.setattr(PairListSegDataset, 'load_data_list', counting)
    monkeypatch.setattr(FitCheckedRunner, 'test', on_device)
    monkeypatch.setattr(mmengine_runner, 'get_device', lambda: 'cuda')
    monkeypatch.setenv('LOCAL_RANK', '0')  # as tools/test.py exports it
    notes = []
    cfg, dataset = prepare_test(
        load_config(DEMO_CONFIG, data_options(synthetic_root)),
        DEMO_CONFIG,
        demo_checkpoint,
        work_dir=str(tmp_path / 'work'),
        aug_test=aug_test,
        aug_scales=[1] if aug_test else None,
        log=notes.append)
    assert notes[-1] == ('test split has labels: 4 samples, evaluating '
                         'with IoUMetric')
    if aug_test:
        assert notes[0].startswith('--aug-test: ')
    assert cfg.load_from == demo_checkpoint
    metrics = run_test(cfg, dataset, device='cpu')
    assert indexed == ['val'] and devices == ['cpu']
    assert 0 <= metrics['mIoU'] <= 100
