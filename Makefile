# The two commands of the README: `make run` (train if needed, then the bot on Discord with a DISCORD_TOKEN,
# else the playground: a local Discord in the browser with the bot in it) and `make test`.
PYTHON := .venv/bin/python
INSTALLED := .venv/.installed
# The tests read MNIST from the verified copy beside the checkout when there is one (faster than a fetch).
MNIST_DIR ?= $(wildcard $(CURDIR)/../shared/data/mnist)

.PHONY: run test install browser

install: $(INSTALLED)

$(INSTALLED): pyproject.toml requirements.lock
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $@

run: $(INSTALLED)
	@$(PYTHON) -m model_store current >/dev/null 2>&1 || $(PYTHON) train.py
	@$(PYTHON) -m bot.run

test: $(INSTALLED) browser
	$(PYTHON) -m mypy
	$(if $(MNIST_DIR),MNIST_DIR=$(MNIST_DIR)) $(PYTHON) -m pytest

# The playground's browser tests drive Debian's chromium (headless, through Playwright; nothing is downloaded
# at test time). Installed here when missing and running as root; otherwise those tests are skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && echo "installing Debian's chromium for the browser tests" \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1; } \
	  || echo "browser tests skipped: chromium is not installed (as root: apt-get install chromium)"
