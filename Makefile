# The two commands a newcomer runs: `make run` and `make test`.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup browser run ask test ingest bench bench-answer eval eval-answers clean

setup:
	@bash scripts/setup.sh

ingest: setup
	$(BIN)/eventkb ingest data/ailouvain-2024-03-18

run: ingest
	$(BIN)/eventkb serve --event ailouvain-2024-03-18

ask: ingest
	$(BIN)/eventkb ask --event ailouvain-2024-03-18 "Combien d'énergie consomme une requête ChatGPT ?"

browser:
	@bash scripts/browser.sh

test: setup browser
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/bench_ingest_search.py

bench-answer: setup
	$(BIN)/python benchmarks/bench_answer.py

eval: setup
	$(BIN)/python benchmarks/eval_retrieval.py

eval-answers: setup
	$(BIN)/eventkb ingest --rebuild data/ailouvain-2024-03-18 ../shared/reports/*.pdf --kb var/eval-kb
	$(BIN)/eventkb eval --kb var/eval-kb

clean:
	rm -rf var $(VENV)  # the knowledge base itself is in $$EVENTKB_HOME or ~/.local/share/eventkb
