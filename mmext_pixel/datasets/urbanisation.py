from mmseg.registry import DATASETS

from .pair_list_dataset import PairListSegDataset


@DATASETS.register_module()
class UrbanisationDataset(PairListSegDataset):
    """Aerial land-cover dataset in the layout of the HRNet urbanisation fork.

    .. code-block:: none

        data/
        ├── urbanisation/
        │   ├── x/{train,val,test}/NAME.png   images
        │   └── y/{train,val,test}/NAME.png   label maps (same stem)
        └── list/urbanisation/{train,val,test,trainval}.lst   optional

    With ``data_root='data/'``, pick a split either by folders
    (``data_prefix=dict(img_path='urbanisation/x/train',
    seg_map_path='urbanisation/y/train')``) or by a list file
    (``ann_file='list/urbanisation/train.lst'``, lines ``IMAGE LABEL`` relative
    to ``data_root``). The test split may have no labels: leave
    ``seg_map_path`` empty or write one path per line.

    The default classes are ``('background', 'built-up', 'road')``. Any other
    class list can be given through ``metainfo=dict(classes=..., palette=...)``;
    the label values then index that list directly (no remapping).
    """

    METAINFO = dict(
        classes=('background', 'built-up', 'road'),
        palette=[[34, 139, 34], [220, 20, 60], [128, 128, 128]])

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    @classmethod
    def get_label_map(cls, new_classes=None):
        # A configured class list replaces the default one wholesale; the
        # label values on disk already index it.
        return None
