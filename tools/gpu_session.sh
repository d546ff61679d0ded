#!/usr/bin/env bash
# One unattended run on a CUDA machine, everything worth measuring there, most valuable first:
#   1. decoder training from the committed decoder for TRAIN_MINUTES -> $OUT/log.csv, $OUT/decoder-ema.safetensors
#      (the weight average) and $OUT/decoder-raw.safetensors; the fp32 checkpoint (56 MB) stays in /tmp
#   2. CUDA checks of the engine (fast path vs fp32, tiling)          -> $OUT/gpu-check.txt
#   3. the GPU rows of the engine benchmark                            -> $OUT/bench-engine-cuda.txt
# Before: `adastyle train pack --data <dataset> --out train-pack --budget-mb 40 --style-crop 256`, copy the
# checkout with its train-pack/ folder to the GPU machine, then, in the checkout there,
#   TRAIN_MINUTES=6.5 OUT=results bash tools/gpu_session.sh
# It takes TRAIN_MINUTES + about 3.5 minutes (setup, exports and checks; the checks stop at 45 s each) and
# writes 8 files into $OUT. It needs only torch, torchvision, numpy, pillow and safetensors (no pytest, no
# network, no install): the core is imported from PYTHONPATH.
set -u
export PYTHONPATH=core PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
RUN=${RUN:-/tmp/adastyle-run}
DEVICE=${DEVICE:-cuda}
TRAIN_MINUTES=${TRAIN_MINUTES:-6}
BATCH=${BATCH:-16}
mkdir -p "$OUT"
{ nvidia-smi; python -c "import torch, torchvision; print(torch.__version__, torchvision.__version__)"; } \
  > "$OUT/train.txt" 2>&1
timeout $((${TRAIN_MINUTES%.*} * 60 + 120)) python -m adastyle.cli train --data train-pack --device "$DEVICE" \
  --minutes "$TRAIN_MINUTES" --batch "$BATCH" --crop 256 --ckpt-every 500 --steps 1000000 \
  --lr 2e-4 --style-weight 2 --style-ramp 0 --warmup 200 --anneal 0.3 ${TRAIN_EXTRA:---layer-weights 1,1,1,4 \
  --variants 2 --sketches 300 --mix 0.2 --identity 0.25 --style-side 256} \
  --init core/adastyle/weights/decoder.safetensors --out "$RUN" >> "$OUT/train.txt" 2>&1
echo "train rc=$?" >> "$OUT/train.txt"
python -m adastyle.cli train export --out "$RUN" --to "$OUT/decoder-ema.safetensors" >> "$OUT/train.txt" 2>&1
python -m adastyle.cli train export --raw --out "$RUN" --to "$OUT/decoder-raw.safetensors" >> "$OUT/train.txt" 2>&1
cp "$RUN/log.csv" "$OUT/log.csv"
tail -3 "$RUN/log.csv" >> "$OUT/train.txt"
timeout 45 python tools/gpu_check.py > "$OUT/gpu-check.txt" 2>&1; echo "gpu_check rc=$?" >> "$OUT/gpu-check.txt"
timeout 45 python bench/bench_engine.py --device "$DEVICE" --sizes 512,1024,2048 --rss "" --repeat 3 \
  > "$OUT/bench-engine-cuda.txt" 2>&1; echo "bench rc=$?" >> "$OUT/bench-engine-cuda.txt"
cp bench/results/engine-cuda.json "$OUT/" 2>/dev/null
ls -la "$OUT"
