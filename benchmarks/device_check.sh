#!/usr/bin/env bash
# The GPU check (issue 17): one command that proves ganforge's CUDA path on the first machine with a GPU.
#
#   benchmarks/device_check.sh          # on a GPU machine; written to finish in under 8 minutes on an H100/H200
#   benchmarks/device_check.sh --cpu    # (or DEVICE_CHECK_CPU=1) the same stages, shrunk to a minute on the CPU: CI runs it
#
# Stages: (1) torch with CUDA (torch==2.13.0 from $TORCH_INDEX when the installed torch has no CUDA) and ganforge,
# installed from this checkout with what is already there when its dependencies import (no build isolation, no
# downloads: the GPU machines have no package registry), and the Python, torch and CUDA found;
# (2) the CUDA tests (tests/test_cuda.py, marked cuda); (3) dcgan on Fashion-MNIST for one epoch in bf16 and in fp32,
# each scored by `ganforge eval`; (4) the speed table (benchmarks/bench_speed.py --table device: the hand-written
# eager fp32 loop against ganforge's defaults, --compile and --cuda-graphs; vanilla batch 64 and 256, dcgan 128 and
# 512); (5) data-parallel scaling (benchmarks/bench_scaling.py: dcgan's images/s at batch 128 per GPU on every GPU
# against one GPU, and the scaling efficiency; skipped on a machine of one GPU). A summary table closes the log,
# which is written to $OUT/device_check.log when OUT is set (else a temporary directory), with the JSON of every
# stage beside it. The exit status is 0 only if every stage passed.
#
# In CPU mode the GPU parts are skipped or shrunk: the CUDA tests are rehearsed on the CPU (GANFORGE_TEST_DEVICE=cpu,
# a few cells), the runs are vanilla on ring8 for 4 steps (bf16 forced on the CPU against fp32), the speed table has
# two tiny cells without compiling, the scaling stage runs a tiny vanilla on 2 gloo processes against 1. It checks
# that the script and what it calls still work, nothing about speed.
set -uo pipefail  # no -e: every stage runs and is reported; the summary decides the exit status
cd "$(dirname "$0")/.."

CPU=${DEVICE_CHECK_CPU:-0}
[[ "${1:-}" == "--cpu" ]] && CPU=1
PYTHON=${PYTHON:-python}
TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cu128}
LOG_DIR=${OUT:-$(mktemp -d)}
mkdir -p "$LOG_DIR"
LOG="$LOG_DIR/device_check.log"
WORK=$(mktemp -d)
: >"$LOG"
exec > >(tee -a "$LOG") 2>&1
STARTED=$(date +%s)
declare -a STAGES=()

stage() {  # stage NAME COMMAND...: run it, time it, record PASS/FAIL
    local name=$1 begun=$SECONDS status
    shift
    echo
    echo "=== $name ($(date -u +%H:%M:%S))"
    "$@"
    status=$?
    STAGES+=("$name|$([[ $status == 0 ]] && echo PASS || echo "FAIL ($status)")|$((SECONDS - begun))")
    return 0
}

# What ganforge and its tests import: on the GPU machines these come preinstalled, with no registry to fetch them from.
DEPENDENCIES="torch pluggy typer rich safetensors PIL numpy torchmetrics matplotlib pytest hypothesis"

missing_dependencies() {  # the modules in $DEPENDENCIES that do not import, space-separated (empty: all there)
    "$PYTHON" - $DEPENDENCIES <<'EOF'
import importlib.util, sys
print(" ".join(name for name in sys.argv[1:] if importlib.util.find_spec(name) is None))
EOF
}

installed_here() {  # ganforge and its plugins import, from this checkout
    "$PYTHON" - "$PWD" <<'EOF' 2>/dev/null
import sys
from pathlib import Path
import ganforge, ganforge_dcgan
from importlib.metadata import entry_points
assert Path(ganforge.__file__).resolve().is_relative_to(Path(sys.argv[1]).resolve()), "installed from another checkout"
assert any(entry.name == "dcgan" for entry in entry_points(group="ganforge")), "no entry points"
EOF
}

link_checkout() {
    # What an editable install leaves, written directly: a .pth file that puts this checkout's packages on the path
    # and a dist-info with pyproject.toml's entry points (the plugins are found through them) and the console
    # script. For a setuptools older than 70.1 without the `wheel` package, which cannot build even an editable
    # wheel; `pip uninstall ganforge` removes it as it would an editable install.
    "$PYTHON" - "$PWD" <<'EOF'
import sys, sysconfig, tomllib
from pathlib import Path

root = Path(sys.argv[1]).resolve()
project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
site, scripts = Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["scripts"])
info = site / f"{project['name']}-{project['version']}.dist-info"
info.mkdir(exist_ok=True)
pth = site / f"__editable__.{project['name']}-{project['version']}.pth"
pth.write_text("".join(f"{root / where}\n" for where in ("", "plugins")))
(info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
(info / "INSTALLER").write_text("device_check.sh\n")
groups = {"console_scripts": project.get("scripts", {}), **project.get("entry-points", {})}
(info / "entry_points.txt").write_text("".join(f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items()) + "\n" for group, entries in groups.items()))
files = [pth, *(info / name for name in ("METADATA", "INSTALLER", "entry_points.txt"))]
for name, target in project.get("scripts", {}).items():
    module, function = target.split(":")
    script = scripts / name
    script.write_text(f"#!{sys.executable}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n")
    script.chmod(0o755)
    files.append(script)
(info / "RECORD").write_text("".join(f"{path},,\n" for path in files) + f"{info / 'RECORD'},,\n")
print(f"linked {root} into {site}")
EOF
}

install_ganforge() {
    # No build isolation and no dependency downloads where the dependencies are already here: the GPU machines
    # have no registry, and an isolated build would fetch setuptools from one. A registry is asked only for what
    # is missing.
    local missing
    missing=$(missing_dependencies)
    if [[ -n $missing ]]; then
        echo "missing: $missing; installing ganforge's dependencies from the package index"
        "$PYTHON" -m pip install -q -e ".[dev]" && return 0
        echo "could not install them (no package index reachable?): install $missing into $("$PYTHON" -c 'import sys; print(sys.prefix)') first"
        return 1
    fi
    echo "every dependency imports: installing ganforge from this checkout without build isolation or downloads"
    if "$PYTHON" -m pip install -q --no-build-isolation --no-deps -e .; then
        return 0
    fi
    echo "pip could not build the editable install (a setuptools older than 70.1 needs the wheel package); linking the checkout instead"
    link_checkout && installed_here
}

environment() {
    "$PYTHON" - <<'EOF'
import importlib.metadata as metadata, platform, sys
def version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"
print(f"Python {platform.python_version()} ({sys.executable}) · pip {version('pip')} · setuptools {version('setuptools')} · wheel {version('wheel')}")
EOF
    if [[ $CPU == 0 ]] && ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
        echo "no CUDA-enabled torch here: installing torch==2.13.0 from $TORCH_INDEX"
        "$PYTHON" -m pip install -q torch==2.13.0 --index-url "$TORCH_INDEX" || return 1
    fi
    if installed_here; then
        echo "ganforge is installed from this checkout"
    else
        install_ganforge || return 1
    fi
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    "$PYTHON" - <<'EOF'
import platform, torch, ganforge
cuda = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA in this torch build"
gpu = f"{torch.cuda.get_device_name(0)} (capability {'.'.join(map(str, torch.cuda.get_device_capability(0)))})" if torch.cuda.is_available() else "no CUDA GPU"
print(f"found: torch {torch.__version__} ({cuda}) · {gpu} · ganforge {ganforge.__version__} · Python {platform.python_version()}")
EOF
    if [[ $CPU == 0 ]]; then
        "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'torch still sees no CUDA GPU')"
    fi
}

cuda_tests() {
    if [[ $CPU == 1 ]]; then  # a rehearsal of the module's cells on the CPU: a few, to stay well under a minute
        GANFORGE_TEST_DEVICE=cpu "$PYTHON" -m pytest -o addopts= -q -p no:cacheprovider -m cuda tests/test_cuda.py \
            -k "nonfinite or noise or (mixed and vanilla)" --junitxml="$LOG_DIR/cuda_tests.xml"
    else
        "$PYTHON" -m pytest -o addopts= -q -p no:cacheprovider -m cuda tests/test_cuda.py -rs --junitxml="$LOG_DIR/cuda_tests.xml"
    fi
}

data_root() {  # where Fashion-MNIST's files are, if anywhere near
    local root
    for root in "${GANFORGE_SHARED_DATA:-}" shared/data ../shared/data; do
        if [[ -n $root && -f $root/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
            echo "$root/fashion-mnist"
            return
        fi
    done
}

quality_runs() {
    local variant data device common=() evaluate=() name status=0
    if [[ $CPU == 1 ]]; then
        variant=vanilla data=ring8 device=cpu
        common=(--max-steps 4 --set data.size=256 --set generator.hidden=16 --set discriminator.hidden=16 --set train.sample_count=16)
        evaluate=(-n 200)
    else
        variant=dcgan data=fashion-mnist device=cuda
        common=(--epochs 1)
        local root
        root=$(data_root)
        [[ -n $root ]] && common+=(--data-root "$root")
    fi
    for name in bf16 fp32; do
        local precision=(--set train.amp_dtype=bf16)
        [[ $name == fp32 ]] && precision=(--no-amp)
        echo "--- $variant on $data, $name"
        local begun=$SECONDS
        "$PYTHON" -m ganforge run "$variant" --data "$data" --device "$device" --seed 0 \
            "${common[@]}" "${precision[@]}" --out "$WORK/$name" || { status=1; continue; }
        echo "$name run: $((SECONDS - begun)) s"
        "$PYTHON" -m ganforge eval "$WORK/$name" --json --device "$device" "${evaluate[@]}" >"$LOG_DIR/eval_$name.json" || status=1
        cat "$LOG_DIR/eval_$name.json"
    done
    return $status
}

speed_table() {
    if [[ $CPU == 1 ]]; then
        "$PYTHON" benchmarks/bench_speed.py --table device --device cpu --cells vanilla:16 dcgan:16 --steps 1 \
            --modes defaults --random-data --json "$LOG_DIR/speed.json"
    else
        local data=(--random-data)
        local root
        root=$(data_root)
        [[ -n $root ]] && data=(--data-root "$root")
        "$PYTHON" benchmarks/bench_speed.py --table device --device cuda "${data[@]}" --json "$LOG_DIR/speed.json"
    fi
}

scaling() {
    if [[ $CPU == 1 ]]; then
        "$PYTHON" benchmarks/bench_scaling.py --variant vanilla --data ring8 --nproc 2 --steps 6 --log-every 2 --repeats 1 \
            --set data.size=512 --set generator.hidden=16 --set discriminator.hidden=16 --json "$LOG_DIR/scaling.json"
    else
        local gpus data=()
        gpus=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
        if [[ $gpus -lt 2 ]]; then
            echo "one GPU: no scaling to measure (bench_scaling.py --device cuda --nproc N on a machine of N GPUs)"
            return 0
        fi
        local root
        root=$(data_root)
        [[ -n $root ]] && data=(--data-root "$root")
        "$PYTHON" benchmarks/bench_scaling.py --device cuda --nproc "$gpus" --batch-size 128 --steps 200 --log-every 50 \
            --repeats 3 "${data[@]}" --json "$LOG_DIR/scaling.json"
    fi
}

echo "ganforge device check · $(date -u '+%Y-%m-%d %H:%M UTC') · $([[ $CPU == 1 ]] && echo 'CPU mode (GPU parts skipped or shrunk)' || echo GPU) · log $LOG"
stage "environment" environment
stage "CUDA tests" cuda_tests
stage "1-epoch runs + eval" quality_runs
stage "speed table" speed_table
stage "scaling 1 -> N" scaling

STAGE_LINES=$(printf '%s\n' "${STAGES[@]}")
STAGE_LINES="$STAGE_LINES" LOG_DIR="$LOG_DIR" CPU="$CPU" ELAPSED=$(($(date +%s) - STARTED)) "$PYTHON" - <<'EOF'
import json, os
from pathlib import Path

log_dir, cpu = Path(os.environ["LOG_DIR"]), os.environ["CPU"] == "1"
print("\n=== summary" + (" (CPU mode: a check of the script, no GPU figures)" if cpu else ""))
stages = [line.split("|") for line in os.environ["STAGE_LINES"].splitlines() if line]
for name, status, seconds in stages:
    print(f"  {name:<22} {status:<10} {int(seconds):>5} s")
print(f"  {'total':<22} {'':<10} {int(os.environ['ELAPSED']):>5} s")
failed = any(status != "PASS" for _, status, _ in stages)

speed = log_dir / "speed.json"
if speed.exists():
    table = json.loads(speed.read_text())
    print(f"\n  speed · {table['header']}")
    targets = {("vanilla", 64): 3.0, ("dcgan", 128): 2.0}  # the issue's targets against the hand-written loop
    for row in table["rows"]:
        hand = row["hand"]["images_per_s"]
        modes = [key for key in row if isinstance(row[key], dict) and key != "hand"]
        best = max(modes, key=lambda key: row[key]["images_per_s"])
        cells = "  ".join(f"{key} {row[key]['images_per_s']:,.0f} ({row[key]['images_per_s'] / hand:.2f}x)" for key in modes)
        target = targets.get((row["variant"], row["batch"]))
        verdict = "" if target is None or cpu else f"  target {target:.0f}x: {'met' if row[best]['images_per_s'] / hand >= target else 'NOT met'} ({best})"
        print(f"  {row['variant']:>8} {row['batch']:>4}  hand-written {hand:,.0f} img/s  {cells}{verdict}")

scaling = log_dir / "scaling.json"
if scaling.exists():
    table = json.loads(scaling.read_text())
    n, kind = table["setting"]["nproc"], ("scaling efficiency" if "scaling efficiency" in table else "ratio")
    print(f"\n  scaling · {table['setting']['variant']}, {n} processes against 1: {table['median_many']:,.0f} against "
          f"{table['median_one']:,.0f} images/s, {kind} {table[kind]:.2f}")

scores = {name: json.loads((log_dir / f"eval_{name}.json").read_text()) for name in ("bf16", "fp32") if (log_dir / f"eval_{name}.json").exists()}
if scores:
    main = next(iter(scores.values()))["main"]
    print(f"\n  quality after the runs ({main}): " + ", ".join(f"{name} {report[main]:.4g}" for name, report in scores.items()))
    if main == "fid" and len(scores) == 2:
        ratio = scores["bf16"]["fid"] / scores["fp32"]["fid"]
        within = ratio <= 1.10
        print(f"  bf16 FID / fp32 FID = {ratio:.3f}: target (within 10%) {'met' if within else 'NOT met'}")
print("\n" + ("device check FAILED" if failed else "device check passed"))
raise SystemExit(1 if failed else 0)
EOF
STATUS=$?
echo "log: $LOG"
rm -rf "$WORK"
exit $STATUS
