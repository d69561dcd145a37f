# The two commands of the README: `make run` (train if needed, then the bot on Discord with a DISCORD_TOKEN,
# else the playground: a local Discord in the browser with the bot in it) and `make test`.
PYTHON := .venv/bin/python
INSTALLED := .venv/.installed
# The tests read MNIST from the verified copy beside the checkout when there is one (faster than a fetch).
MNIST_DIR ?= $(wildcard $(CURDIR)/../shared/data/mnist)

.PHONY: run test install browser fonts postgresql

install: $(INSTALLED) rest_proxy/node_modules/.package-lock.json

# The REST proxy of a bot in several processes (python -m bot cluster): @discordjs/proxy, pinned by its lock file.
rest_proxy/node_modules/.package-lock.json: rest_proxy/package.json rest_proxy/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix rest_proxy --no-audit --no-fund --loglevel=error; \
	else echo "note: npm is missing, so the REST proxy is not installed (a bot in several processes needs Node.js 18+)"; fi

# Fonts for the robust recipe's typed digits (the Debian packages named in digits/typed.py): installed when
# missing and running as root; otherwise the recipe warns and trains without typed digits.
fonts: $(INSTALLED)
	@missing=$$(for p in $$($(PYTHON) -c 'from digits.typed import FONT_PACKAGES; print(*FONT_PACKAGES)'); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing fonts for typed digits:" $$missing; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; } >/dev/null 2>&1 \
	      || echo "warning: could not install" $$missing "(the robust recipe goes on with the fonts it finds)"; \
	  else echo "note: fonts not installed:" $$missing "(as root, make installs them; the robust recipe goes on without)"; fi; \
	fi

$(INSTALLED): pyproject.toml requirements.lock
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $@

# The first start trains the tutorial's network (seconds), starts the bot, and swaps in the robust recipe's
# model when it is trained in the background (about a minute): bot/first_start.py.
run: install fonts
	@$(PYTHON) -m bot.run

# Types, the layers (pyproject's import-linter contracts), then the suite on every core (pytest-xdist): one worker
# more than the cores, since a third of the suite's time is spent waiting on servers and subprocesses (two cores:
# 265 s against 309 s with one worker a core), tests handed out as workers free up (worksteal).
# The suite starts a few hundred Python processes (bots, train.py, benchmarks): bytecode is cached even where the
# environment says not to (PYTHONDONTWRITEBYTECODE), or each process compiles the project anew (~0.2 CPU s each).
test: install fonts browser postgresql
	$(PYTHON) -m mypy
	.venv/bin/lint-imports
	$(if $(MNIST_DIR),MNIST_DIR=$(MNIST_DIR)) PYTHONDONTWRITEBYTECODE= $(PYTHON) -m pytest -n $$(( $$(nproc) + 1 )) --dist worksteal

# The playground's browser tests drive Debian's chromium (headless, through Playwright; nothing is downloaded
# at test time). Installed here when missing and running as root; otherwise those tests are skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && echo "installing Debian's chromium for the browser tests" \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1; } \
	  || echo "browser tests skipped: chromium is not installed (as root: apt-get install chromium)"

# The tests start a throwaway PostgreSQL (tests/fixtures/postgres.py) to run the store and corrections suites on it
# too. Debian's postgresql is installed here when missing and running as root; otherwise those cases are skipped.
# `make run` never needs it: the bot uses PostgreSQL only when BOT_DATABASE or MODEL_STORE is a postgresql:// URL.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && echo "installing Debian's postgresql for the tests" \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; } >/dev/null 2>&1; } \
	  || echo "PostgreSQL cases skipped: postgresql is not installed (as root: apt-get install postgresql)"
