from ganforge.parent_death import die_with_parent

die_with_parent()  # a worker of a `--nproc N` job stops when its elastic agent is gone

from ganforge.cli import main  # noqa: E402

main()
