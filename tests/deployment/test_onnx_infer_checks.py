"""tools/deployment/onnx_infer.py refuses outputs that exist as files and
models whose metadata counts another number of classes than the graph has,
with a one-line error naming the path or the model file; it and
tools/deployment/quantize.py say how to install the runtime where it is
missing.

The tool's ``main`` (``mmext_pixel_runtime.infer.main``) is called
in-process; its command line is run as a process in
tests/tools/test_onnx_infer.py."""
import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout

import cv2
import pytest

from conftest import import_deploy_package, load_tool

onnx = import_deploy_package('onnx')
infer = import_deploy_package('mmext_pixel_runtime.infer')


@pytest.fixture
def image(synthetic_root):
    return str(synthetic_root / 'urbanisation' / 'x' / 'val' / 'val_0000.png')


def run_main(*args):
    """The tool's exit status and all it printed (the message of
    ``sys.exit(message)`` included, as the interpreter prints it)."""
    printed = io.StringIO()
    with redirect_stdout(printed), redirect_stderr(printed):
        try:
            infer.main(list(args), prog='onnx_infer.py')
            status = 0
        except SystemExit as done:
            status = done.code
    if isinstance(status, str):
        printed.write(status + '\n')
        status = 1
    return status or 0, printed.getvalue()


def fails(*args):
    """The tool's one-line error (non-zero exit, no traceback)."""
    status, printed = run_main(*args)
    assert status != 0, printed
    assert 'Traceback' not in printed, printed
    lines = printed.strip().splitlines()
    assert len(lines) == 1, printed
    return lines[0]


def test_output_folder_is_a_file(tiny_onnx, image, tmp_path):
    taken = tmp_path / 'taken'
    taken.write_text('a file, not a folder')
    for option in ('--out', '--show-dir'):
        line = fails(tiny_onnx['whole'], image, option, str(taken))
        assert line == (f'onnx_infer.py: error: {taken}: exists and is not '
                        f'a folder (given as {option})')
    # a file in the way of the folder's parent
    line = fails(tiny_onnx['whole'], image, '--out', str(taken / 'sub'))
    assert str(taken / 'sub') in line and '--out' in line
    assert taken.read_text() == 'a file, not a folder'


def edit_metadata(src, dst, edit):
    proto = onnx.load(src)
    for entry in proto.metadata_props:
        if entry.key == 'mmext_pixel':
            meta = json.loads(entry.value)
            edit(meta)
            entry.value = json.dumps(meta)
    onnx.save(proto, dst)
    return dst


@pytest.mark.parametrize(
    'edit, said',
    [(lambda m: m.update(num_classes=5), 'num_classes=5'),
     (lambda m: m['classes'].append('extra'), '4 class names'),
     (lambda m: m['palette'].pop(), '2 palette colours'),
     (lambda m: m.update(num_classes=2, classes=m['classes'][:2]),
      'num_classes=2, 2 class names')])
def test_class_count_disagrees_with_graph(tiny_onnx, image, tmp_path, edit,
                                          said):
    model = edit_metadata(tiny_onnx['whole'], str(tmp_path / 'edited.onnx'),
                          edit)
    out = tmp_path / 'out'
    line = fails(model, image, '--out', str(out))
    assert line.startswith(f'onnx_infer.py: error: {model}: the metadata '
                           f'says {said}'), line
    assert "output 'seg_logits' has 3 channels" in line, line
    assert not out.exists()  # refused at load, before any output


def test_unedited_model_runs(tiny_onnx, image, tmp_path):
    """The same call on the export as written succeeds (the checks above
    fail for the edit, not for the call)."""
    status, printed = run_main(tiny_onnx['whole'], image, '--out',
                               str(tmp_path))
    assert status == 0, printed
    labels = cv2.imread(str(tmp_path / 'val_0000.png'), cv2.IMREAD_UNCHANGED)
    assert labels.shape == (64, 64) and labels.max() <= 2


@pytest.mark.parametrize('tool, extra',
                         [('onnx_infer.py', "'./runtime'"),
                          ('quantize.py', "'./runtime[quantize]'")])
def test_tool_without_the_runtime_says_how_to_install_it(
        tool, extra, monkeypatch):

    class NotInstalled:
        """Finds the runtime nowhere, as where it is not installed."""

        def find_spec(self, name, path=None, target=None):
            if name.partition('.')[0] == 'mmext_pixel_runtime':
                raise ModuleNotFoundError(name, name=name)

    for name in [
            m for m in sys.modules if m.startswith('mmext_pixel_runtime')
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, 'meta_path', [NotInstalled(), *sys.meta_path])
    with pytest.raises(SystemExit) as done:
        load_tool('deployment', tool)
    assert done.value.code == (
        f'{tool} needs the runtime package mmext_pixel_runtime: pip install '
        f'-e {extra} (or pip install -e .[deploy]; see README.md)')
