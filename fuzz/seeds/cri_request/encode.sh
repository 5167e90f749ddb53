#!/usr/bin/env bash
# Re-creates fuzz/corpus/cri_request/ from these text protos. The leading
# digit of each file name is the selector byte cri_request_fuzz reads first
# (0 CreateContainer, 1 RunPodSandbox, 2 PullImage).
set -euo pipefail
cd "$(dirname "$0")"
repo=$(cd ../../.. && pwd)
out=$repo/fuzz/corpus/cri_request
mkdir -p "$out"
msgs=(CreateContainerRequest RunPodSandboxRequest PullImageRequest)
for f in *.txtpb; do
  sel=${f%%_*}
  name=${f#*_}
  { printf "\\x0$sel"
    protoc -I "$repo/proto" --encode="runtime.v1.${msgs[$sel]}" runtime/v1/api.proto <"$f"; } \
    >"$out/${name%.txtpb}"
done
