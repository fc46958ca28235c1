#!/usr/bin/env bash
# CI: get the pipeline's outputs without recomputing what is cached, then make them current.
# (Data-sharing work extends this: pull from the remote when credentials are present.)
set -euo pipefail
dvc repro
