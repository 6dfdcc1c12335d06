"""The datasets released with CycleGAN (Zhu et al. 2017), downloaded from the authors' server on first use.

Each is a zip of ``<name>/trainA``, ``trainB``, ``testA`` and ``testB`` image folders. The authors publish no
checksums for them, so a download is checked by the zip format's own CRC-32 of every member and for that layout
instead; the archive is extracted into the cache with every member's path checked (no absolute paths, no
``..``, no links), so that a hostile archive cannot write outside its directory.

Look-up order: ``data.root`` (else ``$GANFORGE_DATA_DIR``), holding the layout directly or in ``<name>/``; then
the cache (``$GANFORGE_CACHE_DIR/cyclegan/<name>``); then the download, from ``data.mirror`` first when given.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable, Literal

from ganforge.data import TensorData
from ganforge.errors import GanforgeError
from ganforge_datasets.download import cache_dir, fetch
from ganforge_datasets.release_names import RELEASES
from ganforge_datasets.unpaired import LAYOUT, read_unpaired

SERVER = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/"


def load_release(name: str, root: str | None, split: str, size: int, mirror: str | None) -> TensorData:
    """The release ``name`` as two-domain data, found locally or downloaded and extracted into the cache."""
    user_dir = root if root is not None else os.environ.get("GANFORGE_DATA_DIR")
    if root is not None and not Path(root).expanduser().is_dir():
        raise GanforgeError(f"data root {root} does not exist or is not a directory; pass an existing --data-root")
    candidates = [Path(user_dir).expanduser(), Path(user_dir).expanduser() / name] if user_dir else []
    cached = cache_dir() / "cyclegan" / name
    directory = next((d for d in [*candidates, cached] if (d / f"{split}A").is_dir()), None)
    if directory is None and cached.exists():
        raise GanforgeError(f"the cached copy {cached} lacks {split}A/; delete it to download {name} again")
    if directory is None:
        directory = download(name, [mirror] if mirror else [], cached, looked=candidates)
    return read_unpaired(directory, split, size, channels=3)


def download(name: str, mirrors: list[str], target: Path, looked: list[Path]) -> Path:
    """Fetch ``<name>.zip``, check it, extract it safely to ``target`` and delete the zip."""
    try:
        archive = fetch(f"{name}.zip", [*mirrors, SERVER], None, target.parent, verify=check_archive)
    except GanforgeError as exc:
        where = ", ".join(str(d) for d in looked) or "no data root given"
        raise GanforgeError(
            f"CycleGAN dataset {name} not found ({where}; cache {target}) and {exc}. Pass --data-root DIR holding "
            f"{name}/trainA etc., or download from elsewhere with --set data.mirror=URL"
        ) from exc
    try:
        extract(archive, target)
    finally:
        archive.unlink(missing_ok=True)
    return target


def check_archive(path: Path) -> None:
    """Raise GanforgeError unless ``path`` is an intact zip (every member's CRC-32) holding the CycleGAN layout."""
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise GanforgeError(f"not a valid zip archive ({exc})") from None
    if broken is not None:
        raise GanforgeError(f"the zip archive is corrupt: member {broken} fails its CRC check")
    folders = {part for name in names for part in PurePosixPath(name).parts[:-1]}
    missing = [folder for folder in LAYOUT[:2] if folder not in folders]
    if missing:
        raise GanforgeError(f"the zip archive lacks the {'/, '.join(missing)}/ folders of a CycleGAN dataset")


def _member_path(info: zipfile.ZipInfo, archive: Path) -> PurePosixPath:
    """The member's relative path, or GanforgeError for anything that could land outside the extraction directory."""
    name = info.filename
    path = PurePosixPath(name)
    is_link = stat.S_ISLNK(info.external_attr >> 16)
    if path.is_absolute() or "\\" in name or ".." in path.parts or (path.parts and ":" in path.parts[0]) or is_link:
        raise GanforgeError(f"{archive} holds an unsafe member {name!r} (absolute path, '..' or link); refusing to extract it")
    return path


def extract(archive_path: Path, target: Path) -> None:
    """Extract the zip into ``target`` (which must not exist yet), taking the folder that holds trainA/ as the root."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = [(info, _member_path(info, archive_path)) for info in archive.infolist()]
            for info, relative in members:
                destination = staging.joinpath(*relative.parts)
                if info.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, destination.open("wb") as out:
                    shutil.copyfileobj(source, out)
        root = next((p.parent for p in sorted(staging.rglob("trainA"), key=lambda p: len(p.parts)) if p.is_dir()), None)
        if root is None:
            raise GanforgeError(f"{archive_path} holds no trainA/ folder; it is not a CycleGAN dataset")
        os.replace(root, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _release(name: str) -> Callable[..., TensorData]:
    def load(
        root: str | None = None,  # directory holding trainA/, trainB/, testA/, testB/ (--data-root); None: cache, else download
        split: Literal["train", "test"] = "train",  # which folders: trainA/ and trainB/, or testA/ and testB/
        size: int = 256,  # images are resized to size x size
        mirror: str | None = None,  # base URL tried before the official one when downloading
    ) -> TensorData:
        return load_release(name, root, split, size, mirror)

    load.__name__ = load.__qualname__ = name
    load.__doc__ = (
        f"{RELEASES[name]}.\n\nDownloaded once from {SERVER}{name}.zip into the cache. ``size`` resizes every image "
        "(bicubic); ``mirror`` is a base URL (http:// or file://) tried first."
    )
    return load


apple2orange = _release("apple2orange")
horse2zebra = _release("horse2zebra")
summer2winter_yosemite = _release("summer2winter_yosemite")
monet2photo = _release("monet2photo")
cezanne2photo = _release("cezanne2photo")
ukiyoe2photo = _release("ukiyoe2photo")
vangogh2photo = _release("vangogh2photo")
iphone2dslr_flower = _release("iphone2dslr_flower")
maps = _release("maps")
facades = _release("facades")
