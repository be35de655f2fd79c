# Sourced by the device scripts (device_probe.sh, device_transfer.sh, device_issue21.sh):
#   . scripts/device_env.sh && device_env || exit 2
# device_env installs the carried wheels (folder WHL, default .whl: what the device
# image lacks, see scripts/device_prepare.sh) into /tmp/site for the interpreter PY
# (default python3) and puts them and the checkout on PYTHONPATH, unless NO_WHL is set
# or there is no such folder; then sets what every device run needs. Returns 2 when
# the install fails.
device_env() {
  local whl=${WHL:-.whl}
  if [ -d "$whl" ] && [ -z "${NO_WHL:-}" ]; then
    "${PY:-python3}" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
      --upgrade --target /tmp/site "$whl"/*.whl || return 2
    export PYTHONPATH=/tmp/site:$PWD
  fi
  export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
}
