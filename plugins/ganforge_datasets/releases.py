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
from typing import Callable, Literal, TypeVar

from ganforge.data import TensorData
from ganforge.errors import GanforgeError
from ganforge_datasets.download import cache_dir, fetch
from ganforge_datasets.release_names import RELEASES
from ganforge_datasets.unpaired import LAYOUT, read_unpaired

T = TypeVar("T")

SERVER = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/"
# Bounds on what an archive may expand to, checked from its directory before anything is decompressed. The
# releases hold JPEGs, which zip cannot shrink (ratio about 1; the largest release is under 2 GB): a member that
# claims to inflate 100-fold, or an archive of more than 8 GB, is a zip bomb, not a dataset.
MAX_EXPANDED_BYTES = 8 << 30
MAX_RATIO = 100
RATIO_FROM_BYTES = 1 << 20  # small members (folder entries, a README) may compress well; only large ones are judged


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
        return download(name, [mirror] if mirror else [], cached, looked=candidates, split=split, size=size)
    try:
        return read_unpaired(directory, split, size, channels=3)
    except GanforgeError as exc:
        if directory != cached:
            raise
        raise GanforgeError(f"{exc}; the cached copy {cached} is damaged: delete it to download {name} again") from None


def download(name: str, mirrors: list[str], target: Path, looked: list[Path], split: str, size: int) -> TensorData:
    """Fetch ``<name>.zip``, check it, extract it, read ``split`` from it and only then move it to ``target``
    (the cache): an archive that fails anywhere on the way leaves nothing in the cache to fail again."""
    try:
        archive = fetch(f"{name}.zip", [*mirrors, SERVER], None, target.parent, verify=check_archive)
    except GanforgeError as exc:
        where = ", ".join(str(d) for d in looked) or "no data root given"
        raise GanforgeError(
            f"CycleGAN dataset {name} not found ({where}; cache {target}) and {exc}. Pass --data-root DIR holding "
            f"{name}/trainA etc., or download from elsewhere with --set data.mirror=URL"
        ) from exc
    try:
        return extract(archive, target, lambda root: read_unpaired(root, split, size, channels=3))
    finally:
        archive.unlink(missing_ok=True)


def check_archive(path: Path) -> None:
    """Raise GanforgeError unless ``path`` is an intact zip (every member's CRC-32) holding the CycleGAN layout."""
    try:
        with zipfile.ZipFile(path) as archive:
            check_sizes(archive, path)  # before testzip, which decompresses every member
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


def check_sizes(archive: zipfile.ZipFile, path: Path) -> None:
    """Refuse a zip bomb: members that inflate more than :data:`MAX_RATIO` times, or more than
    :data:`MAX_EXPANDED_BYTES` in all. zipfile never reads a member past its declared size, so these hold."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > RATIO_FROM_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise GanforgeError(
                f"{path} member {info.filename!r} would inflate from {info.compress_size:,} to {info.file_size:,} bytes "
                f"(over {MAX_RATIO} times); refusing a zip bomb"
            )
    if total > MAX_EXPANDED_BYTES:
        raise GanforgeError(f"{path} would expand to {total:,} bytes, over the {MAX_EXPANDED_BYTES:,} allowed; refusing a zip bomb")


def _member_path(info: zipfile.ZipInfo, archive: Path) -> PurePosixPath:
    """The member's relative path, or GanforgeError for anything that could land outside the extraction directory."""
    name = info.filename
    path = PurePosixPath(name)
    is_link = stat.S_ISLNK(info.external_attr >> 16)
    if path.is_absolute() or "\\" in name or ".." in path.parts or (path.parts and ":" in path.parts[0]) or is_link:
        raise GanforgeError(f"{archive} holds an unsafe member {name!r} (absolute path, '..' or link); refusing to extract it")
    return path


def extract(archive_path: Path, target: Path, read: Callable[[Path], T]) -> T:
    """Extract the zip into a staging directory beside ``target`` (which must not exist yet), take the folder
    that holds trainA/ as the root, ``read`` it, and only if that succeeds rename it to ``target``; what ``read``
    returns. Whatever fails, the staging directory is removed."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with zipfile.ZipFile(archive_path) as archive:
            check_sizes(archive, archive_path)
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
        try:
            data = read(root)
        except GanforgeError as exc:
            raise GanforgeError(f"the downloaded {target.name} cannot be read ({exc}); nothing was kept in the cache") from None
        os.replace(root, target)
        return data
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise GanforgeError(f"cannot extract {archive_path} into {target.parent} ({exc}); nothing was kept in the cache") from None
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
