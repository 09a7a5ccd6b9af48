"""Every Python block of README.md runs as it is pasted (from the project folder)."""

import os
import pathlib
import re
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_the_readme_has_python_blocks():
    assert BLOCKS


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs_as_pasted(index, tmp_path, monkeypatch):
    # A copy of the fixtures folder the README names, so outputs land in tmp_path.
    shutil.copytree(ROOT / "audio_fixtures", tmp_path / "audio_fixtures")
    monkeypatch.chdir(tmp_path)
    code = compile(BLOCKS[index], f"README.md python block {index + 1}", "exec")
    before = set(os.listdir(tmp_path))
    exec(code, {"__name__": "__readme__"})
    made = set(os.listdir(tmp_path)) - before
    # a block that names an output file must have written it
    for name in re.findall(r'"([\w.-]+\.(?:wav|flac|png))"', BLOCKS[index]):
        if not name.startswith("audio_fixtures"):
            assert name in made, (name, made)
