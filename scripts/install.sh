#!/usr/bin/env bash
# Install everything dope-or-nope needs into ./.venv (idempotent; used by quickstart and CI).
#   TORCH_SPEC   pip spec for torch/torchvision (default: the versions this project is tested with;
#                on a GPU box use any torch>=2.4 build that matches your CUDA)
#   SKIP_APT=1   do not install Debian packages (Fashion-MNIST, Chromium for the browser test)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}

if [[ "${SKIP_APT:-0}" != 1 ]] && command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
  # Optional extras: the evaluation data set, real photographs to paste products onto when
  # training and checking the photo model (engine/photos/backgrounds.py, clutter.py: mate-backgrounds,
  # lomiri-wallpapers-16.04/-20.04 and opencv-doc's sample photographs for training scenes,
  # tuxpaint-stamps-default's object cut-outs as clutter, ukui-wallpapers as the dev pool),
  # a headless browser for the web-chat test, and a colour emoji font (without one, browsers show
  # the bot's 👍/👎 as empty boxes in the web chat). Tests that need them skip with a reason when
  # they are missing, so failure is not fatal.
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      dataset-fashion-mnist mate-backgrounds lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 opencv-doc \
      tuxpaint-stamps-default ukui-wallpapers chromium chromium-driver \
      fonts-noto-color-emoji >/dev/null; then
    echo "install: Debian packages ready"
  else
    echo "install: WARNING: Debian packages unavailable; Fashion-MNIST/browser tests will skip" >&2
  fi
fi

[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# shellcheck disable=SC2086  # TORCH_SPEC holds several requirement specs on purpose
.venv/bin/python -m pip install -q $TORCH_SPEC
.venv/bin/python -m pip install -q -e '.[dev]'
echo "install: done ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")'))"
