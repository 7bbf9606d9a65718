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
        │   └── TrainVal_parsing_annotations/{train,val}_segmentations/NAME.png
        └── list/lip/{trainList,valList}.txt   optional (HRNet list files)

    With ``data_root='data/'`` a split is chosen by folders
    (``data_prefix=dict(img_path='lip/TrainVal_images/train_images',
    seg_map_path='lip/TrainVal_parsing_annotations/train_segmentations')``) or
    by an HRNet list file (``ann_file='list/lip/trainList.txt'``). The third
    column of HRNet's train list (pre-mirrored label maps) is not needed: the
    training flip swaps the left/right classes of ``LIP_FLIP_PAIRS`` itself,
    and the test-time flip swaps the matching score channels
    (``FlipSwapSegTTAModel``).
    """

    METAINFO = dict(
        classes=LIPDataset.METAINFO['classes'],
        palette=LIPDataset.METAINFO['palette'],
        flip_pairs=LIP_FLIP_PAIRS)

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
