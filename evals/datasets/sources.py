"""Where the runner finds each benchmark's file, and where a user gets it.

The project ships no benchmark data. Without ``--data`` the runner reads
``<data dir>/<file>``: the data directory is ``$MEMORY_EVAL_DATA`` when set, else
``data/`` under the working directory. A missing file stops the run before anything
starts, with a message that says where to download it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "MEMORY_EVAL_DATA"


@dataclass(frozen=True, slots=True)
class DatasetSource:
    name: str
    filename: str
    """The file's name as its authors publish it; the default is ``<data dir>/<filename>``."""
    where: str
    """Where to download it, in words a user can follow."""


LOCOMO = DatasetSource(
    name="LoCoMo",
    filename="locomo10.json",
    where=(
        "the file data/locomo10.json of the GitHub repository snap-research/LoCoMo "
        "(https://github.com/snap-research/LoCoMo/raw/main/data/locomo10.json)"
    ),
)
LONGMEMEVAL = DatasetSource(
    name="LongMemEval",
    filename="longmemeval_s_cleaned.json",
    where=(
        "the LongMemEval release (https://github.com/xiaowu0162/LongMemEval): the "
        "Hugging Face dataset xiaowu0162/longmemeval-cleaned, file longmemeval_s_cleaned.json "
        "(the _m and _oracle files load too)"
    ),
)


class DatasetMissing(SystemExit):
    """The benchmark file is not where the runner looked; the message says where to get it.

    A ``SystemExit`` whose code is the message: the console script prints it to
    stderr and exits with status 1."""


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$MEMORY_EVAL_DATA`` when set and non-empty, else ``data`` (relative to the
    working directory)."""
    return Path(environ.get(DATA_DIR_ENV) or "data")


def default_path(source: DatasetSource, environ: Mapping[str, str] = os.environ) -> Path:
    return data_dir(environ) / source.filename


def resolve(
    source: DatasetSource, given: Path | None, environ: Mapping[str, str] = os.environ
) -> Path:
    """``given`` (``--data``) or the default path; raises ``DatasetMissing`` when the
    file is not there."""
    path = given if given is not None else default_path(source, environ)
    if path.is_file():
        return path
    how = (
        f"--data {given} names no file"
        if given is not None
        else f"no --data given and {path} does not exist "
        f"(the default: ${DATA_DIR_ENV} or ./data, then {source.filename})"
    )
    raise DatasetMissing(
        f"memory-eval: {source.name} file not found: {how}.\n"
        f"Download {source.name} from {source.where},\n"
        f"then put it at {default_path(source, environ)} or pass --data PATH."
    )
