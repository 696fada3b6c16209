# Two commands for a newcomer: `make demo` runs the whole system on embedded services,
# `make test` runs every check. Both set up their own environment from uv.lock.

UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen

.PHONY: demo test lint typecheck pytest env clean

demo: env
	$(RUN) monitoring demo $(ARGS)

test: lint typecheck pytest

lint: env
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: env
	$(RUN) mypy

pytest: env
	$(RUN) pytest $(ARGS)

env: .venv/.synced

.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	touch $@

# uv itself, when it is not installed: a private copy under .tools/.
$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

clean:
	rm -rf .venv .tools .rpm-data .mypy_cache .ruff_cache .pytest_cache
