# The two commands of the README: `make run` (train if needed, then the bot on Discord with a DISCORD_TOKEN,
# else the playground: a local Discord in the browser with the bot in it) and `make test`.
PYTHON := .venv/bin/python
INSTALLED := .venv/.installed
# The tests read MNIST from the verified copy beside the checkout when there is one (faster than a fetch).
MNIST_DIR ?= $(wildcard $(CURDIR)/../shared/data/mnist)

.PHONY: run test install

install: $(INSTALLED)

$(INSTALLED): pyproject.toml requirements.lock
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $@

run: $(INSTALLED)
	@$(PYTHON) -m model_store current >/dev/null 2>&1 || $(PYTHON) train.py
	@$(PYTHON) -m bot.run

test: $(INSTALLED)
	$(PYTHON) -m mypy
	$(if $(MNIST_DIR),MNIST_DIR=$(MNIST_DIR)) $(PYTHON) -m pytest
