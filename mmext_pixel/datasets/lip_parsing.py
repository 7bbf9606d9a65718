from mmseg.datasets import LIPDataset
from mmseg.registry import DATASETS

from .pair_list_dataset import PairListSegDataset

# Label pairs that trade places under a horizontal flip:
# (Left-arm, Right-arm), (Left-leg, Right-leg), (Left-shoe, Right-shoe).
LIP_FLIP_PAIRS = ((14, 15), (16, 17), (18, 19))


@DATASETS.register_module()
class LIPParsingDataset(PairListSegDataset):
    """LIP human parsing (20 classes) in the official and HRNet layouts.

    Gong et al., "Look into Person", CVPR 2017. Named so as not to replace
    mmseg's own ``LIPDataset``, whose class list and palette it shares.

    .. code-block:: none

        data/
        ├── lip/
        │   ├── TrainVal_images/{train,val}_images/NAME.jpg
        │   └── TrainVal_parsing_annotations/
        │       ├── {train,val}_segmentations/NAME.png
        │       └── train_segmentations_reversed/NAME.png   (HRNet, unused)
        └── list/lip/{trainList,valList}.txt   optional, HRNet's list files

    With ``data_root='data/'`` and the roots
    ``data_prefix=dict(img_path='lip/TrainVal_images',
    seg_map_path='lip/TrainVal_parsing_annotations')`` (as
    ``configs/_base_/datasets/lip.py`` sets them), a split is chosen by
    folders (``split='train'`` reads ``train_images`` and
    ``train_segmentations``) or by one of HRNet's list files, unchanged
    (``ann_file='list/lip/valList.txt'``, lines
    ``val_images/NAME.jpg val_segmentations/NAME.png``). The third column of
    HRNet's train list (pre-mirrored label maps) is ignored: the training
    flip swaps the left/right classes of ``LIP_FLIP_PAIRS`` itself, and the
    test-time flip swaps the matching score channels
    (``FlipSwapSegTTAModel``).

    Args:
        img_suffix (str): Image suffix in folder mode. Defaults to '.jpg'.
        seg_map_suffix (str): Label map suffix. Defaults to '.png'.
        data_prefix (dict): Image and label roots, relative to
            ``data_root``. Defaults to the official ones,
            ``lip/TrainVal_images`` and ``lip/TrainVal_parsing_annotations``.
        **kwargs: :class:`PairListSegDataset` arguments (``split``,
            ``ann_file``, ...).
    """

    SPLIT_DIRS = ('{split}_images', '{split}_segmentations')
    METAINFO = dict(
        classes=LIPDataset.METAINFO['classes'],
        palette=LIPDataset.METAINFO['palette'],
        flip_pairs=LIP_FLIP_PAIRS)

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 data_prefix: dict = dict(
                     img_path='lip/TrainVal_images',
                     seg_map_path='lip/TrainVal_parsing_annotations'),
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs)
