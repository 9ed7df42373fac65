#!/usr/bin/env bash
# Issue 23's GPU checks in one fixed-time run (< 9 minutes; builds nothing), logs and JSON in OUT_DIR.
#
# Before the run, on the machine with the checkout (the peer's code does not travel otherwise):
#     cp -r /work/shared/peers .peers            # .peers/ is git-ignored; ~100 KB
# then run from the repository root on the device machine, carrying .peers:
#     run(command="bash benchmarks/run_gpu_issue23.sh $OUT", carry=[".peers"], timeout_s=570)
#
# Parts, in order of importance, each under its own timeout (seconds; override by environment):
#   1. variants (VARIANTS_TIMEOUT=140): benchmarks/bench_cross_variants.py -- every variant's kernels compiled
#      first in WARM_PROCESSES=6 processes at once (Triton's disk cache is shared: the tests and benchmarks
#      after it find most kernels compiled), every forward / backward variant of the fused cross scan checked
#      against the default, then timed (fwd, fwd+bwd) at batch 1/16/64 fp32 and 64
#      bf16; writes the fastest correct forward / backward to OUT_DIR/picked.env, used by parts 3 and 4.
#   2. tests (TEST_TIMEOUT=160): test_scan_gpu (incl. every variant vs the default), test_lifter_gpu,
#      test_trained_fidelity_gpu (issue 20: the fused scan on trained weights, Triton on the real GPU),
#      test_cuda_graph, test_capturable_forward, with the default kernels.
#   3. lifter, with the picked variants exported: benchmarks/bench_lifter_gpu.py --quick, first the bf16
#      training step at batch 16 vs the peer (TRAIN_TIMEOUT=50, TRAIN_ARGS="--train-presets B"), then inference
#      frames/s vs MotionAGFormer-B/L at batch 1/16/64, fp32 / bf16 (INFER_TIMEOUT=120, INFER_ARGS="--presets B,L";
#      S beat its peer everywhere on 2026-11-30). The cross scan alone is part 1's table.
#   4. ncu (NCU_TIMEOUT=45): the picked forward kernel at batch 64 with the metrics
#      (sm__inst_executed, sm__inst_executed_pipe_xu, dram__bytes, lts__t_sectors_op_red) and the
#      SpeedOfLight / InstructionStats / WarpStateStats sections, if ncu exists.
# The SASS counts need no GPU: `python benchmarks/sass_report.py` on any machine.
set -u
OUT_DIR=${1:-gpu-out}
PEERS=${PEERS:-$PWD/.peers}
mkdir -p "$OUT_DIR"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 TRITON_DEFAULT_FP_FUSION=1
START=$SECONDS
stamp() { echo "== $1 at +$((SECONDS - START)) s" | tee -a "$OUT_DIR/timeline.txt"; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem --format=csv | tee "$OUT_DIR/gpu.txt"
python3 -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__)" \
  | tee -a "$OUT_DIR/gpu.txt"

stamp variants
timeout "${VARIANTS_TIMEOUT:-140}" python3 benchmarks/bench_cross_variants.py --quick --warm "${WARM_PROCESSES:-6}" --json "$OUT_DIR/variants.json" \
  --pick "$OUT_DIR/picked.env" 2>&1 | tee "$OUT_DIR/variants.log" | tail -45
if [[ -s $OUT_DIR/picked.env ]]; then
  set -a; . "$OUT_DIR/picked.env"; set +a
fi
echo "variants used below: forward ${POSEMAMBA_CROSS_FWD:-legacy}, backward ${POSEMAMBA_CROSS_BWD:-legacy}" \
  | tee -a "$OUT_DIR/timeline.txt"

stamp tests
(unset POSEMAMBA_CROSS_FWD POSEMAMBA_CROSS_BWD
 timeout "${TEST_TIMEOUT:-160}" python3 -m pytest -q -rs --durations=8 -p no:cacheprovider tests/test_scan_gpu.py \
   tests/test_lifter_gpu.py tests/test_cuda_graph.py tests/test_capturable_forward.py \
   tests/test_trained_fidelity_gpu.py) 2>&1 \
  | tee "$OUT_DIR/test_gpu.log" | tail -25

stamp lifter
if [[ -f $PEERS/motionagformer/model/MotionAGFormer.py ]]; then PEER_ARGS=(--peers "$PEERS"); else
  echo "no peer code under $PEERS (cp -r /work/shared/peers .peers and carry it): PoseMamba only"
  PEER_ARGS=(--skip-peer); fi
# shellcheck disable=SC2086
timeout "${TRAIN_TIMEOUT:-50}" python3 benchmarks/bench_lifter_gpu.py "${PEER_ARGS[@]}" --quick --skip inference,cross \
  ${TRAIN_ARGS:---train-presets B} --json "$OUT_DIR/train.json" 2>&1 | tee "$OUT_DIR/train.log" | tail -8
stamp inference
# shellcheck disable=SC2086
timeout "${INFER_TIMEOUT:-120}" python3 benchmarks/bench_lifter_gpu.py "${PEER_ARGS[@]}" --quick --skip train,cross \
  ${INFER_ARGS:---presets B,L} --json "$OUT_DIR/lifter.json" 2>&1 | tee "$OUT_DIR/lifter.log" | tail -30

stamp ncu
if command -v ncu >/dev/null; then
  # the 3rd call's launch (one per call for the one-launch forward; 4 per call, one per group, for legacy)
  KERNEL=cross_fwd_kernel SKIP=8; [[ ${POSEMAMBA_CROSS_FWD:-legacy} != legacy ]] && KERNEL=cross_fwd_lanes_kernel SKIP=2
  timeout "${NCU_TIMEOUT:-45}" ncu --kernel-name "regex:$KERNEL" --launch-skip "$SKIP" --launch-count 1 \
    --metrics sm__inst_executed.sum,sm__inst_executed_pipe_xu.sum,dram__bytes.sum,lts__t_sectors_op_red.sum \
    --section SpeedOfLight --section InstructionStats --section WarpStateStats --section Occupancy \
    python3 benchmarks/profile_cross_scan.py --repeats 3 2>&1 | tee "$OUT_DIR/ncu_cross_fwd.log" | tail -70
else
  echo "ncu not found: no kernel profile" | tee "$OUT_DIR/ncu_cross_fwd.log"
fi
stamp done
