# The two commands a newcomer runs: `make run` and `make test`.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test ingest bench eval clean

setup:
	@bash scripts/setup.sh

ingest: setup
	$(BIN)/eventkb ingest

run: ingest
	$(BIN)/eventkb search "Combien de Wh pour une requête ChatGPT comparée à une recherche Google ?" --k 3

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/bench_ingest_search.py

eval: setup
	$(BIN)/python benchmarks/eval_retrieval.py

clean:
	rm -rf var $(VENV)  # the knowledge base itself is in $$EVENTKB_HOME or ~/.local/share/eventkb
