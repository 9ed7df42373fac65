# Two commands do the whole set-up from a clean clone:
#   make demo   install, then 3D poses for the shipped demo clip (the lifter's weights are fetched on first use)
#   make test   install, then ruff and the test suite (what .ci/run calls)
# Variables: PYTHON (the interpreter that makes the venv), VENV, WEIGHTS (weights folder), DEMO_OUT,
# DEMO_FLAGS (extra `posemamba infer` flags, e.g. --offline), TEST_CMD.

PYTHON ?= python3
VENV ?= .venv
BIN ?= $(VENV)/bin
WEIGHTS ?= weights
DEMO_OUT ?= outputs/demo
DEMO_FLAGS ?=
LIFTER ?= posemamba-b
TEST_CMD ?= python -m pytest -q -rs tests

.PHONY: install lint test demo demo-run clean-venv

# torch and torchvision first and pinned (in this order), so pip never pulls another torch build
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/pip install -q torch==2.13.0
	PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/pip install -q torchvision==0.28.0
	PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/python -m ruff check .

# pytest's exit 5 (no test collected) fails like any other: a run that tests nothing is not a pass
test: install lint
	. $(BIN)/activate && $(TEST_CMD)

demo: install demo-run

# the demo without the install step (what the tests run, with test-made weights in WEIGHTS)
demo-run:
	$(BIN)/python -m posemamba_cli infer demo_videos/walk.mp4 --keypoints demo_videos/walk_keypoints.npz \
		--lifter $(LIFTER) --weights-dir $(WEIGHTS) --output $(DEMO_OUT) $(DEMO_FLAGS)

clean-venv:
	rm -rf $(VENV)
