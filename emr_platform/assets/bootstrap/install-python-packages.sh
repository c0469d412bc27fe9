#!/bin/bash
# Bootstrap action: install Python packages on every node, before applications start.
# Usage (from settings): script: bootstrap/install-python-packages.sh, args: ["pandas==2.2.3", "pyarrow==17.0.0"]
# Pin versions: a bootstrap action that resolves differently on two nodes gives them different libraries.
set -euo pipefail
if [ "$#" -eq 0 ]; then
  echo "install-python-packages: no packages given, nothing to do"
  exit 0
fi
sudo python3 -m pip install --quiet --no-cache-dir "$@"
