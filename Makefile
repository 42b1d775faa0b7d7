# Thin entry points. Each target creates .venv and installs what it needs the
# first time (or when pyproject.toml changes), so a fresh clone needs only make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
# two pytest-xdist workers for the 2 cores, a test file to one worker, the longest files first
# (tests/conftest.py); `make test PYTEST_PARALLEL=` runs the tests one at a time
PYTEST_PARALLEL ?= -n 2 --dist loadfile --no-loadscope-reorder

# Python may be told not to write bytecode (PYTHONDONTWRITEBYTECODE): compile the project's own
# packages first, or every kernel the grader starts compiles cnnlib again (benchmarks/NOTES.md)
BYTECODE := $(BIN)/python -m compileall -q cnnlib autograder course_tools

.PHONY: demo train-demo test test-fast lint lab notebooks bench bench-grading clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[course,dev,cluster]'
	@touch $(STAMP)

# The course's main job: release the four assignments and grade every sample submission.
demo: $(STAMP)
	@$(BYTECODE)
	$(BIN)/python -m autograder demo

# Train LeNet-5 on 5,000 real MNIST digits and report test accuracy.
train-demo: $(STAMP)
	$(BIN)/python -m cnnlib.demo

# ruff's rules are in pyproject.toml; the lint runs first because it takes a second
test: $(STAMP)
	@$(BYTECODE)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

test-fast: $(STAMP)
	@$(BYTECODE)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

BENCH_STAMP := $(VENV)/.installed-bench

# The optional `bench` extra: PyTorch (torch==2.13.0, CPU wheel) as the reference.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[course,dev,bench]'
	@touch $(BENCH_STAMP)

# cnnlib next to PyTorch and scikit-image (printed ratios, never asserted);
# writes benchmarks/RESULTS.md. Uses the official MNIST test set from
# $$CNNLIB_DATA when set, Fashion-MNIST from Debian's dataset-fashion-mnist.
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py

# Grading speed (printed, not asserted): plain nbgrader next to grade --workers 1 and 2.
bench-grading: $(STAMP)
	@$(BYTECODE)
	$(BIN)/python benchmarks/grading.py

lab: $(STAMP)
	$(BIN)/jupyter lab

# Rebuild every lecture and assignment notebook from its Python source (course_tools/notebooks.py);
# tests/notebooks/test_notebook_builder.py checks that the committed notebooks equal a fresh build.
notebooks: $(STAMP)
	$(BIN)/python -m course_tools.notebooks

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info course demo-out
