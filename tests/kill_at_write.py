"""Run the ganforge command line, SIGKILLed halfway through its N-th write of one kind of file.

    python tests/kill_at_write.py KIND N ganforge-arguments...

KIND is checkpoint, metrics, samples or curves. The write is cut where a power cut or the OOM killer would cut
it: part of the bytes are on disk, then the process is gone, with no chance to clean up. tests/test_kill_writes.py
then checks that nothing written before is lost and that resume, plot and sample all work.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    kind, number, arguments = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    seen = [0]

    def due() -> bool:
        seen[0] += 1
        return seen[0] == number

    if kind == "checkpoint":
        from ganforge import checkpoint

        save_file = checkpoint.save_file

        def cut_checkpoint(tensors, filename, metadata=None):
            save_file(tensors, filename, metadata=metadata)
            if due():
                os.truncate(filename, os.path.getsize(filename) // 2)
                die()

        checkpoint.save_file = cut_checkpoint
    elif kind == "metrics":
        write = os.write

        def cut_line(fd, data):
            if os.readlink(f"/proc/self/fd/{fd}").endswith("metrics.jsonl") and due():
                write(fd, bytes(data)[: len(data) // 2])
                die()
            return write(fd, data)

        os.write = cut_line
    elif kind in ("samples", "curves"):
        from PIL import Image

        save = Image.Image.save
        marker = "epoch_" if kind == "samples" else "curves"

        def cut_picture(self, fp, *args, **kwargs):
            if isinstance(fp, (str, os.PathLike)) and marker in Path(fp).name and due():
                save(self, fp, *args, **kwargs)
                os.truncate(fp, os.path.getsize(fp) // 2)
                die()
            return save(self, fp, *args, **kwargs)

        Image.Image.save = cut_picture
    else:
        raise SystemExit(f"unknown kind {kind!r}")
    from ganforge.cli import main as ganforge

    sys.argv = ["ganforge", *arguments]
    ganforge()


if __name__ == "__main__":
    main()
