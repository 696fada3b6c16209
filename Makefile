# Two commands for a newcomer: `make demo` runs the whole system on embedded services,
# `make test` runs every check. Both set up their own environment from uv.lock.

UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen

.PHONY: demo test lint typecheck pytest env clean vendor

# The demo needs only what the service needs: no test tools (uv run syncs without removing any).
demo: | $(UV)
	$(RUN) --no-dev monitoring demo $(ARGS)

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

# The dashboard's front-end packages, pinned in monitoring/web/package-lock.json. Their built
# files are committed, so neither the service nor its tests need npm; this refreshes them.
vendor:
	cd monitoring/web && npm ci --no-audit --no-fund
	cp monitoring/web/node_modules/chart.js/dist/chart.umd.min.js monitoring/web/static/vendor/
	cp monitoring/web/node_modules/chart.js/LICENSE.md monitoring/web/static/vendor/chart.js.LICENSE.md
	cp monitoring/web/node_modules/axe-core/axe.min.js tests/e2e/vendor/
	cp monitoring/web/node_modules/axe-core/LICENSE tests/e2e/vendor/axe-core.LICENSE
	rm -rf monitoring/web/node_modules

clean:
	rm -rf .venv .tools .rpm-data .mypy_cache .ruff_cache .pytest_cache
