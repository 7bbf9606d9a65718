import os.path as osp
from typing import List, Optional

from mmengine import fileio
from mmseg.datasets import BaseSegDataset


class PairListSegDataset(BaseSegDataset):
    """Segmentation dataset read from a folder pair or an HRNet-style list file.

    Two ways to name the samples:

    - folder mode (``ann_file=''``): every image under
      ``data_prefix['img_path']`` whose name ends with ``img_suffix``, with its
      label map of the same stem under ``data_prefix['seg_map_path']``;
    - list mode (``ann_file`` set): one sample per non-empty line, written as
      in HRNet-Semantic-Segmentation's ``data/list/*`` files: an image path,
      then (for labelled splits) a label path, both relative to ``data_root``.
      Further columns (e.g. LIP's mirrored label maps) are ignored.

    An empty ``seg_map_path`` (folder mode) or a one-column list (list mode)
    gives an unlabelled split for inference only. Every referenced file must
    exist: a missing data root, folder or file raises ``FileNotFoundError``
    naming it (and, in list mode, the list file and line), instead of
    dropping the sample.
    """

    def _join_prefix(self):
        # An empty seg_map_path marks an unlabelled split; keep it empty
        # instead of letting it resolve to data_root itself.
        unlabelled = not self.data_prefix.get('seg_map_path')
        super()._join_prefix()
        if unlabelled:
            self.data_prefix['seg_map_path'] = ''

    def load_data_list(self) -> List[dict]:
        if self.data_root is not None and not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'{type(self).__name__}: data_root {self.data_root!r} does '
                'not exist (see docs/dataset_prepare.md for the layout)')
        if self.ann_file:
            data_list = self._load_from_list_file(self.ann_file)
        else:
            data_list = self._load_from_folders()
        if not data_list:
            where = self.ann_file or self.data_prefix.get('img_path')
            raise FileNotFoundError(
                f'{type(self).__name__}: no samples found in {where!r} '
                f'(img_suffix={self.img_suffix!r})')
        return data_list

    def _make_info(self, img_path: str,
                   seg_map_path: Optional[str]) -> dict:
        info = dict(
            img_path=img_path,
            label_map=self.label_map,
            reduce_zero_label=self.reduce_zero_label,
            seg_fields=[])
        if seg_map_path:
            info['seg_map_path'] = seg_map_path
        return info

    def _load_from_list_file(self, list_file: str) -> List[dict]:
        if not osp.isfile(list_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: list file {list_file!r} does not '
                'exist')
        root = self.data_root or ''
        data_list = []
        with open(list_file) as f:
            for line_no, line in enumerate(f, start=1):
                fields = line.split()
                if not fields:
                    continue
                paths = [osp.join(root, p) for p in fields[:2]]
                for path in paths:
                    if not osp.isfile(path):
                        raise FileNotFoundError(
                            f'{list_file}:{line_no}: {path!r} does not exist')
                data_list.append(
                    self._make_info(paths[0],
                                    paths[1] if len(paths) > 1 else None))
        return data_list

    def _load_from_folders(self) -> List[dict]:
        img_dir = self.data_prefix.get('img_path', '')
        ann_dir = self.data_prefix.get('seg_map_path', '')
        for folder in filter(None, (img_dir, ann_dir)):
            if not osp.isdir(folder):
                raise FileNotFoundError(
                    f'{type(self).__name__}: folder {folder!r} does not exist')
        data_list = []
        for img in sorted(
                fileio.list_dir_or_file(
                    img_dir,
                    list_dir=False,
                    suffix=self.img_suffix,
                    recursive=True,
                    backend_args=self.backend_args)):
            seg_map_path = None
            if ann_dir:
                stem = img[:-len(self.img_suffix)]
                seg_map_path = osp.join(ann_dir, stem + self.seg_map_suffix)
                if not osp.isfile(seg_map_path):
                    raise FileNotFoundError(
                        f'label map {seg_map_path!r} for image '
                        f'{osp.join(img_dir, img)!r} does not exist')
            data_list.append(
                self._make_info(osp.join(img_dir, img), seg_map_path))
        return data_list
