# Thin entry points. Each target creates .venv and installs what it needs the
# first time (or when pyproject.toml changes), so a fresh clone needs only make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo train-demo test test-fast lab bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[course,dev]'
	@touch $(STAMP)

# The course's main job: release the four assignments and grade every sample submission.
demo: $(STAMP)
	$(BIN)/python -m autograder demo

# Train LeNet-5 on 5,000 real MNIST digits and report test accuracy.
train-demo: $(STAMP)
	$(BIN)/python -m cnnlib.demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# Side-by-side timings (printed, not asserted): grading with 1 and 2 workers.
bench: $(STAMP)
	$(BIN)/python benchmarks/grading.py

lab: $(STAMP)
	$(BIN)/jupyter lab

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info course demo-out
