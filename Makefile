# The README's two commands: `make demo` and `make test`. Odoo 18.0 Community must be importable by
# python3 (see README.md, Prerequisites); PostgreSQL is started by the targets themselves.
PYTHON ?= python3
export PYTHON

.PHONY: test demo lint bench clean

test:
	@bash scripts/test.sh

demo:
	@bash scripts/demo.sh

lint:
	@bash scripts/lint.sh

bench:
	@bash scripts/bench.sh

clean:
	rm -rf .build
