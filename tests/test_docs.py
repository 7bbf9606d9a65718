"""Every ``tools/...`` path the docs name exists, and every ``--option``
they give a command is one that command defines."""
import ast
import functools
import glob
import os.path as osp
import re

import pytest

from conftest import REPO_ROOT

DOC_FILES = sorted(
    [osp.join(REPO_ROOT, 'README.md'),
     osp.join(REPO_ROOT, 'CONTRIBUTING.md')] +
    glob.glob(osp.join(REPO_ROOT, 'docs', '**', '*.md'), recursive=True) +
    glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.md'), recursive=True) +
    glob.glob(osp.join(REPO_ROOT, 'runtime', '*.md')))

TOOL_PATH = re.compile(r'(?<![\w./-])tools/[\w./-]*\w\.(?:py|sh)')
OPTION = re.compile(r'(?<![\w-])--[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*')
# A command ends at a shell separator, a comment or the end of its span.
COMMAND_END = re.compile(r'&&|\|\||[|;#`]|\n')
CONSOLE_SCRIPTS = {
    'mmext-pixel-infer': 'runtime/mmext_pixel_runtime/infer.py',
    'mmext-pixel-serve': 'runtime/mmext_pixel_runtime/server.py',
    'mmext-pixel-quantize': 'runtime/mmext_pixel_runtime/quantize.py',
}
CONSOLE_SCRIPT = re.compile('|'.join(map(re.escape, CONSOLE_SCRIPTS)))
# `python -m mmext_pixel...`: one of our modules run as a command
MODULE_COMMAND = re.compile(r'(?<=-m )mmext_pixel(?:_runtime)?(?:\.\w+)+')
# Commands of other projects, whose options the docs may quote.
EXTERNAL_COMMAND = re.compile(
    r'(?<![\w-])(?:pytest|pre-commit|pip3?|git|apt-get|torchrun)(?![\w-])')
# Options that the docs quote from commands that are not ours.
EXTERNAL_OPTIONS = {
    '--rgb': "the official GALD/DGCN repository's test scripts",
    '--whole': "the official GALD/DGCN repository's test scripts",
    '--evaluate': "the official Gated-SCNN train.py",
    '--num_steps': "the official GALD/DGCN training scripts",
    '--megapixels': "tests/helpers/runtime_server.py's memory measurement",
    '--nproc': "mmseg's dataset converters",
    '--remote-debugging-pipe': 'chromium',
}
EXTERNAL_OPTIONS.update(
    dict.fromkeys(('--color_aug', '--gblur', '--poly_exp', '--pre_size',
                   '--rotate', '--syncbn', '--wt_bound'),
                  'the official Gated-SCNN train.py (its recipe table)'))
# The launchers pass what follows their positional arguments to the script
# they launch.
LAUNCHED = {
    'tools/dist_train.sh': 'tools/train.py',
    'tools/slurm_train.sh': 'tools/train.py',
    'tools/dist_test.sh': 'tools/test.py',
    'tools/slurm_test.sh': 'tools/test.py',
}


def code_spans(text):
    """The inline code spans and the lines of fenced blocks of markdown."""
    fenced = re.compile(r'^```[^\n]*\n(.*?)^```', re.S | re.M)
    spans = []
    for block in fenced.finditer(text):
        spans.extend(block.group(1).splitlines())
    rest = fenced.sub('', text)
    spans.extend(re.findall(r'`([^`\n]+)`', rest))
    return spans


def commands(span):
    """``(command, options)`` for each of our commands named in ``span``."""
    found = []
    starts = sorted([(m.start(), m.end(), m.group())
                     for m in TOOL_PATH.finditer(span)] +
                    [(m.start(), m.end(), CONSOLE_SCRIPTS[m.group()])
                     for m in CONSOLE_SCRIPT.finditer(span)] +
                    [(m.start(), m.end(), module_file(m.group()))
                     for m in MODULE_COMMAND.finditer(span)])
    for i, (_, end, command) in enumerate(starts):
        stop = starts[i + 1][0] if i + 1 < len(starts) else len(span)
        tail = span[end:stop]
        cut = COMMAND_END.search(tail)
        if cut:
            tail = tail[:cut.start()]
        found.append((command, OPTION.findall(tail)))
    return found


def module_file(module):
    """The source file of one of our modules."""
    base = 'runtime/' if module.startswith('mmext_pixel_runtime') else ''
    return base + module.replace('.', '/') + '.py'


def imported_library_files(path):
    """The files of mmext_pixel(_runtime) modules that ``path`` imports: a
    thin tool may take its argument definitions from the library."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f'{node.module}.{a.name}' for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    files = []
    for name in names:
        if not name.startswith('mmext_pixel'):
            continue
        base = 'runtime' if name.startswith('mmext_pixel_runtime') else ''
        stem = osp.join(REPO_ROOT, base, *name.split('.'))
        files += [
            p for p in (stem + '.py', osp.join(stem, '__init__.py'))
            if osp.isfile(p)
        ]
    return files


@functools.lru_cache(maxsize=None)
def defined_text(command):
    """The source that defines ``command``'s options."""
    path = osp.join(REPO_ROOT, LAUNCHED.get(command, command))
    texts = []
    for file in [path] + (imported_library_files(path)
                          if path.endswith('.py') else []):
        with open(file, encoding='utf-8') as f:
            texts.append(f.read())
    return '\n'.join(texts)


def defines(command, text, option):
    """Whether ``text``, the source of ``command``, defines ``option``:
    a quoted argparse flag in Python (where ``--help`` comes with argparse),
    a ``case`` pattern or test in a shell script."""
    if command.endswith('.sh') and command not in LAUNCHED:
        return re.search(rf'(?<![\w-]){re.escape(option)}(?![\w-])',
                         text) is not None
    if option == '--help':
        return 'argparse' in text
    return re.search(rf"['\"]{re.escape(option)}(?![\w-])", text) is not None


def doc_commands():
    for doc in DOC_FILES:
        if not osp.isfile(doc):
            continue
        with open(doc, encoding='utf-8') as f:
            text = f.read()
        for span in code_spans(text):
            for command, options in commands(span):
                yield osp.relpath(doc, REPO_ROOT), span, command, options


def test_docs_exist_and_name_commands():
    docs = [osp.relpath(d, REPO_ROOT) for d in DOC_FILES if osp.isfile(d)]
    assert 'README.md' in docs and 'CONTRIBUTING.md' in docs
    named = {command for _, _, command, _ in doc_commands()}
    assert {'tools/train.py', 'tools/test.py', 'tools/install.sh'} <= named


def test_every_tool_path_in_the_docs_exists():
    missing = sorted({(doc, command)
                      for doc, _, command, _ in doc_commands()
                      if not osp.isfile(osp.join(REPO_ROOT, command))})
    assert not missing, f'docs name tools that do not exist: {missing}'


def test_every_option_in_the_docs_is_defined_by_its_command():
    unknown = []
    for doc, span, command, options in doc_commands():
        if not osp.isfile(osp.join(REPO_ROOT, command)):
            continue
        text = defined_text(command)
        for option in options:
            if not defines(command, text, option):
                unknown.append(f'{doc}: {option} of {command} in `{span}`')
    assert not unknown, 'docs give options the command does not define:\n' + \
        '\n'.join(sorted(set(unknown)))


def test_every_option_named_alone_is_one_of_ours():
    """An option quoted without its command (`--aug-scales 0.75 1`) must
    be defined by one of our commands, or be a known one of another's."""
    ours = '\n'.join(
        defined_text(osp.relpath(path, REPO_ROOT)) for path in glob.glob(
            osp.join(REPO_ROOT, 'tools', '**', '*.*'), recursive=True)
        if path.endswith(('.py', '.sh'))) + '\n'.join(
            defined_text(path) for path in CONSOLE_SCRIPTS.values())
    unknown = []
    for doc in DOC_FILES:
        if not osp.isfile(doc):
            continue
        with open(doc, encoding='utf-8') as f:
            spans = code_spans(f.read())
        for span in spans:
            if commands(span) or EXTERNAL_COMMAND.search(span):
                continue
            for option in OPTION.findall(span):
                if option in EXTERNAL_OPTIONS or re.search(
                        rf'(?<![\w-]){re.escape(option)}(?![\w-])', ours):
                    continue
                unknown.append(
                    f'{osp.relpath(doc, REPO_ROOT)}: {option} in `{span}`')
    assert not unknown, 'docs name options no command of ours defines:\n' + \
        '\n'.join(sorted(set(unknown)))


@pytest.mark.parametrize(
    'span, expected',
    [('python3 tools/test.py CONFIG CKPT --aug-test --out DIR', [
        ('tools/test.py', ['--aug-test', '--out'])
    ]),
     ('bash tools/install.sh --cpu && python3 tools/demo.py --iters 5', [
         ('tools/install.sh', ['--cpu']), ('tools/demo.py', ['--iters'])
     ]),
     ('tools/dist_train.sh CONFIG 8 --amp  # comment --not-this', [
         ('tools/dist_train.sh', ['--amp'])
     ]),
     ('mmext-pixel-serve model.onnx --port 8000 | tee log', [
         ('runtime/mmext_pixel_runtime/server.py', ['--port'])
     ])])
def test_commands_are_split_as_a_shell_reads_them(span, expected):
    assert commands(span) == expected


def test_an_option_the_command_lacks_is_found():
    test_py = defined_text('tools/test.py')
    assert defines('tools/test.py', test_py, '--aug-test')
    assert not defines('tools/test.py', test_py, '--aug')
    install = defined_text('tools/install.sh')
    assert defines('tools/install.sh', install, '--no-pose')
    assert not defines('tools/install.sh', install, '--no')
    # a launcher's options are those of the script it launches
    assert defines('tools/dist_train.sh', defined_text('tools/dist_train.sh'),
                   '--resume')
