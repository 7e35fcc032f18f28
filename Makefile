# The two set-up commands (each builds .venv from nothing when it is missing):
#   make demo   - run jobs/specs/demo.yaml on the embedded default, then regenerate the tables
#   make test   - run the test suite (CI: .ci/run calls exactly this)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RESULTS ?= results

.PHONY: demo test venv clean-venv adapterhub-venv

venv: $(VENV)/.installed

# torch first, on its own: `pip install torch==2.13.0` takes the CPU build from this machine's
# local wheel store; letting the resolver pick torch with everything else could pull a CUDA build.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

demo: venv
	HF_HUB_OFFLINE=1 $(BIN)/adapterbench sweep jobs/specs/demo.yaml --results $(RESULTS)
	$(BIN)/adapterbench tables --results $(RESULTS)

# pytest exit code 5 means "no tests were collected": for this project that is a broken
# checkout or a bad path, so it fails the run with its own message instead of passing silently.
test: venv
	@HF_HUB_OFFLINE=1 $(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing (exit 5)"; exit 1; fi; \
	exit $$rc

clean-venv:
	rm -rf $(VENV) .venv-adapterhub

# Only for benchmarks/adapter_step.py: AdapterHub's `adapters` pins transformers 4.57 and shares
# our import name, so it gets a venv of its own (the benchmark drives it in a subprocess).
adapterhub-venv: .venv-adapterhub/.installed

.venv-adapterhub/.installed: benchmarks/adapterhub-constraints.txt
	$(PYTHON) -m venv .venv-adapterhub
	.venv-adapterhub/bin/pip install --quiet torch==2.13.0
	.venv-adapterhub/bin/pip install --quiet -c benchmarks/adapterhub-constraints.txt adapters
	touch $@
