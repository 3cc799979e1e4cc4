# Two commands set everything up on a fresh machine:
#   make run   -- creates .venv if missing, installs, opens the studio
#   make test  -- creates .venv if missing, installs, runs the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install clean package

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch is pinned to the CPU build (2.13.0) so pip never resolves the CUDA packages.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/prufrock studio

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

# A one-folder CPU build of the studio with the bundled models (dist/prufrock/), then its smoke test.
package: $(STAMP)
	$(BIN)/pip install -q pyinstaller
	$(BIN)/pip uninstall -y -q typing 2>/dev/null || true  # an obsolete backport (pulled by some extras) that PyInstaller refuses
	QT_QPA_PLATFORM=offscreen $(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/prufrock.spec
	cp packaging/prufrock.desktop packaging/io.github.prufrock.Prufrock.metainfo.xml dist/prufrock/
	cp resources/icons/prufrock.svg dist/prufrock/
	QT_QPA_PLATFORM=offscreen packaging/smoke.sh dist/prufrock/prufrock

clean:
	rm -rf $(VENV) build dist *.egg-info
