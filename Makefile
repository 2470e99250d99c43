# Tailor: `make demo` builds a demo store and serves it; `make test` runs every check but the slow
# `tailor bench` and locust runs, which are `make bench-smoke` (CI runs both).
# Works on a fresh machine with only python3: the first run creates .venv and installs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO := var/demo
PORT ?= 50051

.PHONY: install demo data artifacts test lint typecheck unit bench-smoke test-portable protos loadtest bench clean

$(STAMP): pyproject.toml setup.py native/_forest.c Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# ML-100K for `tailor evaluate` and its tests ships inside recbole (never imported: it needs torch)
	$(BIN)/pip install --quiet --no-deps recbole
	# CDNOW for the BG/NBD and Gamma-Gamma validation tests ships inside lifetimes (data only, never imported)
	$(BIN)/pip install --quiet --no-deps lifetimes
	touch $(STAMP)

install: $(STAMP)

data: $(STAMP)
	$(BIN)/tailor demo-data --out $(DEMO)/data

artifacts: data
	$(BIN)/tailor build --data $(DEMO)/data --artifacts $(DEMO)/artifacts

demo: artifacts
	@echo ""
	@echo "Tailor is serving $(DEMO)/artifacts/current on localhost:$(PORT). Try, in another shell:"
	@echo "  $(BIN)/tailor recommend --target localhost:$(PORT) --user u0001 --n 10"
	@echo "  $(BIN)/tailor recommend --target localhost:$(PORT) --session i0017,i0023:cart"
	@echo "  $(BIN)/tailor recommend --target localhost:$(PORT) --anchor i0017"
	@echo "  $(BIN)/tailor rerank --target localhost:$(PORT) --user u0001 --items i0001,i0002,i0003"
	@echo "Stop with Ctrl-C."
	$(BIN)/tailor serve --artifacts $(DEMO)/artifacts --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

# The end-to-end `tailor bench` and locust runs on a tiny store (tests marked bench); slow, so not in `make test`.
# The suite on another BLAS kernel and thread count than this machine's (a fresh CI host may differ):
# OpenBLAS's generic Prescott kernel on one thread, then the detected kernel on two. ~10 min on 2 cores.
test-portable: $(STAMP)
	OPENBLAS_CORETYPE=Prescott OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/pytest -q -p no:randomly
	OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 $(BIN)/pytest -q

bench-smoke: $(STAMP)
	$(BIN)/pytest -q -m bench

protos: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -I . --python_out=. --pyi_out=. --grpc_python_out=. protos/decision.proto
	$(BIN)/python -m grpc_tools.protoc -I . --python_out=. --pyi_out=. protos/artifact.proto

# A short headless locust run against a server you started (make demo).
loadtest: $(STAMP)
	TAILOR_ARTIFACTS=$(DEMO)/artifacts $(BIN)/locust -f loadtests/locustfile.py --headless \
		--host 127.0.0.1:$(PORT) -u 20 -r 10 -t 20s --only-summary

# Tailor against the floor server at 1M users x 1M items x 10M events (store and artifacts are built once
# under var/bench/ and reused); see docs/benchmarks.md. Extra flags: make bench BENCH_ARGS="--duration 10".
bench: $(STAMP)
	$(BIN)/tailor bench --users 1000000 --items 1000000 --events 10000000 $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
