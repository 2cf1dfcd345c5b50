# Two commands for a newcomer: `make demo` and `make test`. Everything else is a helper they call.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUILT := $(VENV)/.built
SOURCES := Cargo.toml Cargo.lock pyproject.toml rust/Cargo.toml bindings/Cargo.toml $(shell find rust/src bindings/src -name '*.rs')

.PHONY: demo demo-engine test build lint rust-test py-test bench clean peers

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q maturin==1.16.0
	touch $(STAMP)

# Release build of the extension into the venv (also installs the runtime and dev dependencies),
# redone only when a Rust source or a manifest changed.
build: $(BUILT)

$(BUILT): $(STAMP) $(SOURCES)
	$(VENV)/bin/maturin develop --release --extras dev -q
	touch $(BUILT)

# The contact center over real SIP on loopback with generated callers and agent phones;
# Ctrl-C stops it. `make demo-engine` is the engine alone over a generated day.
demo: build
	$(PY) examples/contact_center/demo.py

demo-engine: build
	$(PY) examples/demo.py

rust-test:
	cargo test --workspace --quiet

lint: build
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	$(VENV)/bin/ruff check python tests benches examples
	$(VENV)/bin/ruff format --check python tests benches examples
	$(VENV)/bin/mypy --strict python/acdcore
	$(PY) -m mypy.stubtest acdcore._core

# Real SIP peers for the voice tests (Debian packages); installed when missing and we are root.
peers:
	@command -v sipp >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq sip-tester; } || echo "note: sipp (Debian sip-tester) is missing: the SIP tests will be skipped"
	@command -v baresip >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq baresip-core; } || echo "note: baresip (Debian baresip-core) is missing: the agent phone tests will be skipped"

py-test: build peers
	$(PY) -m pytest -q

# pytest last: its summary line closes the run.
test: rust-test lint py-test

bench: build
	$(VENV)/bin/maturin develop --release --extras dev,bench -q
	cargo bench -p acdcore --bench routing
	$(PY) -m pytest benches -q --benchmark-only

clean:
	rm -rf $(VENV) target
