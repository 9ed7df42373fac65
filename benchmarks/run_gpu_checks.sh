#!/usr/bin/env bash
# GPU checks in one go (on a machine with a CUDA torch, Triton and nvcc), from the repository root:
#   bash benchmarks/run_gpu_checks.sh [OUTDIR] [parts: build,test,tune,bench,lifter,ncu]
# build: the CUDA extension; test: tests/test_scan_gpu.py and tests/test_lifter_gpu.py (fused cross scan,
# CUDA-graph replay); tune: Triton tile configurations; bench: benchmarks/bench_scan_gpu.py; lifter:
# benchmarks/bench_lifter_gpu.py (PoseMamba vs MotionAGFormer; the peer from PEERS, default .peers/ in the
# checkout: `cp -r ../shared/peers .peers` here and carry .peers); ncu: a profile of the fused cross-scan
# forward kernel (benchmarks/profile_cross_scan.py). Default parts: test,lifter,ncu. Logs and JSON in OUTDIR.
set -u
OUT_DIR=${1:-gpu-out}
PARTS=${2:-test,lifter,ncu}
PEERS=${PEERS:-$PWD/.peers}
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
  timeout ${TEST_TIMEOUT:-300} python3 -m pytest -q -rs --durations=8 tests/test_scan_gpu.py tests/test_lifter_gpu.py \
    2>&1 | tee "$OUT_DIR/test_gpu.log" | tail -30
fi
if [[ $PARTS == *bench* ]]; then
  timeout ${BENCH_TIMEOUT:-300} python3 benchmarks/bench_scan_gpu.py ${BENCH_ARGS:-} --json "$OUT_DIR/bench.json" 2>&1 | tee "$OUT_DIR/bench.log" | tail -60
fi
if [[ $PARTS == *lifter* ]]; then
  timeout ${LIFTER_TIMEOUT:-360} python3 benchmarks/bench_lifter_gpu.py --peers "$PEERS" ${LIFTER_ARGS:-} \
    --json "$OUT_DIR/lifter.json" 2>&1 | tee "$OUT_DIR/lifter.log" | tail -50
fi
if [[ $PARTS == *ncu* ]]; then
  python3 benchmarks/profile_cross_scan.py --repeats 3 2>&1 | tee "$OUT_DIR/cross_fwd.log"
  if command -v ncu >/dev/null; then
    timeout ${NCU_TIMEOUT:-240} ncu --kernel-name regex:cross_fwd_kernel --launch-skip 8 --launch-count 1 \
      --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats \
      python3 benchmarks/profile_cross_scan.py --repeats 4 2>&1 | tee "$OUT_DIR/ncu_cross_fwd.log" | tail -60
  else
    echo "ncu not found: no kernel profile" | tee "$OUT_DIR/ncu_cross_fwd.log"
  fi
fi
