#!/usr/bin/env bash
# One command from a fresh clone to a working product in your browser:
# install → demo catalog → photo model (localiser + ft:photo) → indexes → local Telegram emulator
# + bot + web chat page.
#   bash scripts/quickstart.sh             everything, then serve the demo
#   bash scripts/quickstart.sh --no-serve  everything but the demo server; exits 0 (CI, scripted checks)
#   DEMO_N=2000   catalog size;  DEMO_PORT=8081   web chat port
#   DEMO_EMBEDDERS=ft:photo,efficientnet-lite0   what to index and serve (the first is the default)
#   DEMO_VARIANT=ft:photo/cosine                 the variant new users get
set -euo pipefail
cd "$(dirname "$0")/.."

serve=1
for arg in "$@"; do
  case "$arg" in
    --no-serve) serve=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

bash scripts/install.sh
PY=.venv/bin/python
export DOPE_EMBEDDERS=${DEMO_EMBEDDERS:-ft:photo,efficientnet-lite0}
export DOPE_DEFAULT_VARIANT=${DEMO_VARIANT:-ft:photo/cosine}

if [[ ! -f data/catalog.sqlite ]]; then
  $PY scripts/make_demo_catalog.py --n "${DEMO_N:-2000}"
fi
# The photo model is trained on this catalog's own items (minutes on a CPU); kept until the
# catalog changes (train_photo.py --if-stale checks the checkpoint's catalog id and revision).
if [[ ",$DOPE_EMBEDDERS," == *",ft:photo,"* ]]; then
  $PY scripts/train_photo.py --name photo --if-stale
fi
$PY scripts/build_index.py --embedders "$DOPE_EMBEDDERS"
if [[ $serve == 0 ]]; then
  echo "quickstart: ready (catalog, models, indexes in data/); serve with: $PY -m bot.demo"
  exit 0
fi
exec $PY -m bot.demo --port "${DEMO_PORT:-8081}"
