"""Animations from frames: GIF through Pillow, MP4 through an ffmpeg executable where one is available."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from PIL import Image

from ganforge.errors import GanforgeError
from ganforge.rundir import check_output_file

FORMATS = (".gif", ".mp4")


def check_target(path: Path) -> None:
    """Refuse, before any work, a file name whose format cannot be written here."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise GanforgeError(f"--out {path} must end in .gif or .mp4")
    if suffix == ".mp4":
        ffmpeg_executable()
    check_output_file(path)


def ffmpeg_executable() -> str:
    """ffmpeg on PATH, else the one the imageio-ffmpeg package ships."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        raise GanforgeError(
            "writing .mp4 needs an encoder: put ffmpeg on PATH or pip install 'ganforge[video]' (imageio-ffmpeg); "
            "or write a .gif"
        ) from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def write_animation(frames: list[Image.Image], path: Path, fps: float) -> Path:
    """``frames`` as a looping GIF or an H.264 MP4 at ``fps`` frames per second."""
    check_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=round(1000 / fps), loop=0, optimize=False)
        return path
    rgb = [frame.convert("RGB") for frame in frames]
    width, height = rgb[0].size
    command = [
        ffmpeg_executable(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
        "-r", f"{fps:g}", "-i", "-", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p", "-c:v", "libx264", str(path),
    ]  # fmt: skip  (H.264 in yuv420p wants even sides: pad by a pixel where needed)
    result = subprocess.run(command, input=b"".join(frame.tobytes() for frame in rgb), capture_output=True)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise GanforgeError(f"ffmpeg could not write {path}: {message[-1] if message else 'exit code ' + str(result.returncode)}")
    return path
