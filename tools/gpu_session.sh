#!/usr/bin/env bash
# ONE call on a lent GPU machine (device tool), everything a session needs from it:
#   1. CUDA checks of the engine (fast path vs fp32, tiling) -> $OUT/gpu-check.txt
#   2. the GPU rows of the engine benchmark                   -> $OUT/bench-engine-cuda.txt
#   3. decoder training from the committed decoder for the remaining minutes -> $OUT/run/
# Before calling: `adastyle train pack --out train-pack` here, then run this with carry=["train-pack"].
# The machine has torch, torchvision, numpy, pillow, safetensors and no network: the core imports from PYTHONPATH.
set -u
export PYTHONPATH=core
OUT=${OUT:-/tmp/out}
TRAIN_MINUTES=${TRAIN_MINUTES:-7}
mkdir -p "$OUT"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
timeout 120 python tools/gpu_check.py > "$OUT/gpu-check.txt" 2>&1; echo "gpu_check rc=$?" >> "$OUT/gpu-check.txt"
timeout 180 python bench/bench_engine.py --device cuda --sizes 512,1024,2048 --rss "" --repeat 5 \
  > "$OUT/bench-engine-cuda.txt" 2>&1
cp bench/results/engine-cuda.json "$OUT/" 2>/dev/null
timeout $((TRAIN_MINUTES * 60 + 120)) python -m adastyle.cli train --data train-pack --device cuda \
  --minutes "$TRAIN_MINUTES" --batch 32 --crop 256 --ckpt-every 200 --steps 1000000 \
  --style-weight 2 --style-ramp 0 --warmup 100 --anneal 0.3 \
  --init core/adastyle/weights/decoder.safetensors --out "$OUT/run" > "$OUT/train.txt" 2>&1
python -m adastyle.cli train export --out "$OUT/run" --to "$OUT/decoder.safetensors" >> "$OUT/train.txt" 2>&1
tail -3 "$OUT/run/log.csv" >> "$OUT/train.txt" 2>/dev/null
ls -la "$OUT" "$OUT/run"
