#!/usr/bin/env bash
# Installs @tensorflow/tfjs-node (the native `tensorflow` backend) where its own install cannot:
# it builds the package's addon against the libtensorflow of a local TensorFlow wheel instead of
# downloading libtensorflow and a prebuilt addon from storage.googleapis.com. Needs the npm
# registry (for the package), g++ and Node's headers (node-gyp), and a TensorFlow CPU wheel for
# Linux x86-64 (TensorFlow's C API, which the addon calls, is in its libtensorflow_cc.so.2).
#
# Usage: scripts/tfjs-node-from-wheel.sh [WHEEL] [NODE_MODULES]
#   WHEEL         default: the newest /opt/pypi/files/tensorflow_cpu-*.whl
#   NODE_MODULES  default: ./node_modules (run from the checkout)
#
# Afterwards `--backend auto` picks `tensorflow`: the cells it computes are keyed by that backend,
# so cells finished on wasm are not reused (README, "Backends"). Undo: rm -rf
# NODE_MODULES/@tensorflow/tfjs-node.
set -euo pipefail

wheel="${1:-$( (ls /opt/pypi/files/tensorflow_cpu-*.whl 2>/dev/null || true) | sort -V | tail -n 1)}"
modules="$(realpath "${2:-node_modules}")"
if [[ -z "$wheel" || ! -f "$wheel" ]]; then
  echo "tfjs-node-from-wheel: no TensorFlow wheel found (pass its path as the first argument)" >&2
  exit 2
fi
if [[ ! -d "$modules/@tensorflow/tfjs-core" ]]; then
  echo "tfjs-node-from-wheel: $modules has no @tensorflow/tfjs-core (run npm install first)" >&2
  exit 2
fi
version="$(node -p "require('$modules/@tensorflow/tfjs-core/package.json').version")"
node_gyp="$(dirname "$(dirname "$(realpath "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
nodedir="$(npm config get nodedir)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dest="$modules/@tensorflow/tfjs-node"

echo "tfjs-node-from-wheel: @tensorflow/tfjs-node@$version against $(basename "$wheel")"
(cd "$work" && npm pack --silent "@tensorflow/tfjs-node@$version" > /dev/null && tar xzf ./*.tgz)
# The C API's headers and the two libraries; the rest of the wheel (Python, 2 GB unpacked) is not needed.
unzip -q -o "$wheel" -d "$work/wheel" \
  'tensorflow/libtensorflow_cc.so.2' 'tensorflow/libtensorflow_framework.so.2' \
  'tensorflow/include/tensorflow/c/*' 'tensorflow/include/xla/tsl/c/*' \
  'tensorflow/include/tensorflow/core/platform/ctstring*' 'tensorflow/include/tsl/platform/ctstring*'
package="$work/package"
mkdir -p "$package/deps/lib"
mv "$work/wheel/tensorflow/include" "$package/deps/include"
mv "$work/wheel/tensorflow/"lib*.so.2 "$package/deps/lib/"
# binding.gyp links -ltensorflow -ltensorflow_framework; the addon then records the sonames (*.so.2).
ln -s libtensorflow_cc.so.2 "$package/deps/lib/libtensorflow.so"
ln -s libtensorflow_framework.so.2 "$package/deps/lib/libtensorflow_framework.so"

# Its runtime dependencies, but not a second tfjs: the addon must register its backend with the
# project's tfjs-core, which Node finds one level up once the package sits in NODE_MODULES.
(cd "$package" && npm install --silent --omit=dev --ignore-scripts --no-package-lock --no-save \
  --no-audit --no-fund && rm -rf node_modules/@tensorflow)
napi=8
(cd "$package" && node "$node_gyp" rebuild --silent > /dev/null --nodedir="$nodedir" \
  --module_name=tfjs_binding --module_path="./lib/napi-v$napi" --napi_build_version="$napi")
mkdir -p "$package/lib/napi-v$napi"
cp "$package/build/Release/tfjs_binding.node" "$package/lib/napi-v$napi/"
rm -rf "$package/build" "$dest"
mv "$package" "$dest"

# A product checked against its known value on the native backend, loaded as the project loads it.
(cd "$(dirname "$modules")" && node -e "
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-node');
tf.setBackend('tensorflow').then(() => {
  const got = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])).arraySync().flat();
  if (tf.getBackend() !== 'tensorflow' || got.join() !== '19,22,43,50') {
    console.error('tfjs-node-from-wheel: the native backend did not compute [[19, 22], [43, 50]]: ' + got);
    process.exit(1);
  }
  console.log('tfjs-node-from-wheel: backend tensorflow works ($dest)');
});
" 2>&1 | grep -v -e '^WARNING: All log' -e 'cpu_feature_guard' -e 'oneDNN custom operations' -e 'rebuild TensorFlow with')
