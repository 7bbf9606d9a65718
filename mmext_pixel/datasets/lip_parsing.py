from mmseg.datasets import LIPDataset
from mmseg.registry import DATASETS

from .pair_list_dataset import PairListSegDataset

# (left, right) arm, leg and shoe: swapped by a horizontal flip
LIP_FLIP_PAIRS = ((14, 15), (16, 17), (18, 19))


@DATASETS.register_module()
class LIPParsingDataset(PairListSegDataset):
    """LIP human parsing (20 classes) in the official and HRNet layouts
    (docs/dataset_prepare.md).

    Gong et al., "Look into Person", CVPR 2017; mmseg's ``LIPDataset``'s
    classes and palette under another name. A split by folders
    (``split='train'``: ``train_images``, ``train_segmentations``) or HRNet's
    list files (``ann_file='list/lip/valList.txt'``), whose third column
    (mirrored labels) is ignored: flips swap ``LIP_FLIP_PAIRS``.

    Args:
        img_suffix (str): Image suffix in folder mode. Defaults to '.jpg'.
        seg_map_suffix (str): Label map suffix. Defaults to '.png'.
        data_prefix (dict): Image and label roots. Defaults to
            ``lip/TrainVal_images`` and ``lip/TrainVal_parsing_annotations``.
        **kwargs: :class:`PairListSegDataset` arguments.
    """

    SPLIT_DIRS = ('{split}_images', '{split}_segmentations')
    METAINFO = dict(
        classes=LIPDataset.METAINFO['classes'],
        palette=LIPDataset.METAINFO['palette'],
        flip_pairs=LIP_FLIP_PAIRS)
    LAYOUT = dict(
        img_suffix='.jpg',
        seg_map_suffix='.png',
        data_prefix=dict(
            img_path='lip/TrainVal_images',
            seg_map_path='lip/TrainVal_parsing_annotations'))
