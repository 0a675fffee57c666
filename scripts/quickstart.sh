#!/usr/bin/env bash
# One command from a fresh clone to a working product in your browser:
# install → demo catalog → indexes → local Telegram emulator + bot + web chat page.
#   DEMO_N=2000   catalog size;  DEMO_PORT=8081   web chat port;  DEMO_EMBEDDERS=efficientnet-lite0
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh
PY=.venv/bin/python
export DOPE_EMBEDDERS=${DEMO_EMBEDDERS:-efficientnet-lite0}

if [[ ! -f data/catalog.sqlite ]]; then
  $PY scripts/make_demo_catalog.py --n "${DEMO_N:-2000}"
fi
$PY scripts/build_index.py --embedders "$DOPE_EMBEDDERS"
exec $PY -m bot.demo --port "${DEMO_PORT:-8081}"
