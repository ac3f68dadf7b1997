# Sourced by the scripts: make `uv` available as "${UV[@]}", installing it if needed.
# Use the system trust store (corporate proxies, distro CA bundles) rather than bundled roots.
export UV_SYSTEM_CERTS="${UV_SYSTEM_CERTS:-1}"
_uv_bootstrap=".tools/uv-venv"
if command -v uv >/dev/null 2>&1; then
    UV=(uv)
elif python3 -m uv --version >/dev/null 2>&1; then
    UV=(python3 -m uv)
elif [ -x "$_uv_bootstrap/bin/uv" ]; then
    UV=("$_uv_bootstrap/bin/uv")
else
    echo "installing uv (the project's package manager) into $_uv_bootstrap…" >&2
    python3 -m venv "$_uv_bootstrap" >&2
    "$_uv_bootstrap/bin/pip" install --quiet uv >&2
    UV=("$_uv_bootstrap/bin/uv")
fi
