"""``tools/test.py``'s run: options applied (:func:`prepare_test`), the test
loop in ``FitCheckedRunner`` (:func:`run_test`)."""
import os.path as osp
from typing import Callable, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.dataset import BaseDataset
from mmengine.model import revert_sync_batchnorm

from mmext_pixel.datasets.transforms import split_has_labels
from mmext_pixel.engine import FitCheckedRunner, add_training_guards
from mmext_pixel.utils.run_config import (POSE_SCOPE, build_split_dataset,
                                          enable_test_time_aug,
                                          enable_visualization, finish_run,
                                          set_pose_flip_test, setup_run,
                                          tta_summary)
from mmext_pixel.utils.test_outputs import (evaluator_names, is_cityscapes,
                                            labels_all_ignored,
                                            set_cityscapes_submission,
                                            set_coco_test_dev,
                                            set_prediction_output)


class TestOptionError(ValueError):
    """A test option that does not apply to the config."""

    __test__ = False  # not a test class, for pytest


class _DeviceRunner(FitCheckedRunner):
    """Puts the model on ``device``: mmengine's Runner takes the device
    mmengine found at import, the GPU wherever one exists."""
    device = 'cpu'

    def wrap_model(self, model_wrapper_cfg, model):
        if self.distributed:
            return super().wrap_model(model_wrapper_cfg, model)
        return revert_sync_batchnorm(model.to(self.device))


def _configure_seg(
        cfg: Config, config_path: str, out: Optional[str],
        log: Callable[[str], None]) -> Tuple[Optional[str], BaseDataset]:
    """Evaluate a split with labels; predict one without (a split whose
    label maps are all ignore, as Cityscapes' ``gtFine/test``, has none):
    label-ID PNGs for the Cityscapes server, else the predictions."""
    # built once, here, with the final pipeline; the Runner takes it
    dataset = build_split_dataset(cfg, 'test', config_path)
    labelled = split_has_labels(dataset)
    ignored = labelled and labels_all_ignored(dataset)
    if ignored:
        log(f'test split: every label map is all ignore (e.g. {ignored}): '
            'the split has no labels')
        labelled = False
    if labelled:
        log(f'test split has labels: {len(dataset)} samples, evaluating '
            f'with {evaluator_names(cfg)}')
    elif is_cityscapes(dataset):
        # the server scores Cityscapes label IDs, not train IDs
        folder = out or osp.join(cfg.work_dir, 'cityscapes_test')
        set_cityscapes_submission(cfg, folder)
        out = None
        log(f'Cityscapes test split ({len(dataset)} images): label-ID PNGs '
            f'for the benchmark server are written to {folder}; zip them '
            f'with: (cd {folder} && zip -q ../cityscapes_test_results.zip '
            '*.png)')
    else:
        out = out or osp.join(cfg.work_dir, 'predictions')
        cfg.test_evaluator['format_only'] = True
        log(f'test split has no labels: predictions are written to {out}')
    return out, dataset


def prepare_test(
    cfg: Config,
    config_path: str,
    checkpoint: str,
    work_dir: Optional[str] = None,
    launcher: str = 'none',
    out: Optional[str] = None,
    show: bool = False,
    show_dir: Optional[str] = None,
    wait_time: float = 2,
    show_interval: int = 1,
    aug_test: bool = False,
    aug_scales: Optional[Sequence[float]] = None,
    aug_flip: bool = True,
    no_flip_test: bool = False,
    coco_test_dev: Optional[str] = None,
    log: Callable[[str],
                  None] = print) -> Tuple[Config, Optional[BaseDataset]]:
    """Apply ``tools/test.py``'s options to ``cfg``.

    Args:
        cfg (Config): The config, loaded by ``load_config``.
        config_path (str): Its path (work dir names, messages).
        checkpoint (str): The weights to test (``cfg.load_from``).
        work_dir (str, optional): Where results go. Defaults to None.
        launcher (str): Job launcher. Defaults to 'none'.
        out (str, optional): Segmentation: folder of predicted label PNGs;
            pose: a .pkl dump. Defaults to None.
        show (bool): Show the painted predictions. Defaults to False.
        show_dir (str, optional): Painted predictions. Defaults to None.
        wait_time (float): Seconds each shown image stays. Defaults to 2.
        show_interval (int): Paint every n-th image. Defaults to 1.
        aug_test (bool): Test-time augmentation. Defaults to False.
        aug_scales (Sequence[float], optional): Its scales. Defaults to None.
        aug_flip (bool): Whether it flips. Defaults to True.
        no_flip_test (bool): Pose: no flip test. Defaults to False.
        coco_test_dev (str, optional): Pose: COCO test-dev detections (''
            for the default file). Defaults to None.
        log (Callable[[str], None]): Notes on the run. Defaults to print.

    Returns:
        tuple: The run's config and, for segmentation, the test dataset
        built with the final pipeline (None for pose). Raises
        ``TestOptionError`` for an option that does not apply.
    """
    pose = cfg.default_scope == POSE_SCOPE
    if not pose and coco_test_dev is not None:
        raise TestOptionError('--coco-test-dev is for COCO pose configs')
    if not pose and no_flip_test:
        raise TestOptionError('--no-flip-test is for pose configs; for '
                              'segmentation use --aug-test --no-aug-flip')
    cfg = setup_run(cfg, config_path, work_dir, launcher)
    add_training_guards(cfg)
    cfg.load_from = checkpoint
    if show or show_dir:
        enable_visualization(cfg, show_dir, show, wait_time, show_interval)
    # pose: refuses the seg-only aug_scales / aug_flip=False
    swapped = aug_test and enable_test_time_aug(cfg, config_path, aug_scales,
                                                aug_flip)
    dataset = None
    if pose:
        log('flip test: ' + set_pose_flip_test(cfg, aug_test, no_flip_test))
        if coco_test_dev is not None:
            results = set_coco_test_dev(cfg, coco_test_dev or None)
            log('COCO test-dev: keypoint results for the server are written '
                f'to {results}; rename it person_keypoints_test-dev2017_NAME_'
                'results.json and zip it')
    else:
        if aug_test:
            log(f'--aug-test: {tta_summary(cfg.model)}')
        if swapped:
            log('--aug-test: the flipped views swap the dataset\'s '
                f'left/right classes {[tuple(p) for p in swapped]} '
                f'({cfg.model.type})')
        out, dataset = _configure_seg(cfg, config_path, out, log)
    if out is not None:
        set_prediction_output(cfg, out)
    return cfg, dataset


def run_test(cfg: Config,
             dataset: Optional[BaseDataset] = None,
             allow_partial: bool = False,
             device: Optional[str] = None) -> dict:
    """Run :func:`prepare_test`'s config's test loop; returns its metrics.

    Args:
        cfg (Config): The prepared config.
        dataset (BaseDataset, optional): The test dataset it built, used as
            it is. Defaults to None (built by the Runner).
        allow_partial (bool): Load a checkpoint that does not fit (what does
            not stays as initialised). Defaults to False.
        device (str, optional): Where the model runs. Defaults to None
            (mmengine's choice).
    """
    runner_cls = FitCheckedRunner if device is None else type(
        'DeviceRunner', (_DeviceRunner, ), dict(device=device))
    runner = runner_cls.from_cfg(cfg)
    if dataset is not None:
        # mmengine's build_dataloader takes a built dataset as it is (set
        # after from_cfg: the saved config stays plain)
        runner._test_dataloader = dict(
            runner._test_dataloader, dataset=dataset)
    runner.allow_partial = allow_partial
    metrics = runner.test()
    # the process group goes with the Runner's last reference (its DDP
    # wrapper holds it): release it before finish_run destroys the group
    del runner
    finish_run()
    return metrics
