# Sourced by the scripts: make `uv` available (installing it with pip if needed).
if command -v uv >/dev/null 2>&1; then
    UV=(uv)
else
    if ! python3 -m uv --version >/dev/null 2>&1; then
        echo "installing uv (the project's package manager) with pip…" >&2
        python3 -m pip install --quiet --user uv >&2 || python3 -m pip install --quiet uv >&2
    fi
    UV=(python3 -m uv)
fi
