#!/usr/bin/env bash
# GPU checks in one go (on a machine with a CUDA torch, Triton and nvcc), from the repository root:
#   bash benchmarks/run_gpu_checks.sh [OUTDIR] [parts: build,test,tune,bench]
# build: the CUDA extension; test: tests/test_scan_gpu.py (+ the interpreter tests); tune: Triton tile
# configurations; bench: benchmarks/bench_scan_gpu.py. Logs and JSON land in OUTDIR.
set -u
OUT_DIR=${1:-gpu-out}
PARTS=${2:-build,test,tune,bench}
mkdir -p "$OUT_DIR"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem --format=csv | tee "$OUT_DIR/gpu.txt"
python3 -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__)"
if [[ $PARTS == *build* ]]; then  # in the background while the Triton tuning runs
  ( (time POSEMAMBA_CUDA_ARCH=90 python3 -m pip install -q --no-build-isolation --no-deps ./kernels/selective_scan) \
    >"$OUT_DIR/build.log" 2>&1 || echo "CUDA extension build FAILED (see build.log)" ) &
  BUILD_PID=$!
fi
if [[ $PARTS == *tune* ]]; then
  (cd benchmarks && timeout ${TUNE_TIMEOUT:-150} python3 tune_scan_triton.py) 2>&1 | tee "$OUT_DIR/tune.log" | tail -30
fi
if [[ $PARTS == *build* ]]; then
  wait "$BUILD_PID"; tail -4 "$OUT_DIR/build.log"
fi
python3 -c "from posemamba_cli.ops import backend_status; print(backend_status())"
if [[ $PARTS == *test* ]]; then
  timeout ${TEST_TIMEOUT:-300} python3 -m pytest -q -rs --durations=8 tests/test_scan_gpu.py 2>&1 | tee "$OUT_DIR/test_gpu.log" | tail -30
fi
if [[ $PARTS == *bench* ]]; then
  timeout ${BENCH_TIMEOUT:-300} python3 benchmarks/bench_scan_gpu.py ${BENCH_ARGS:-} --json "$OUT_DIR/bench.json" 2>&1 | tee "$OUT_DIR/bench.log" | tail -60
fi
