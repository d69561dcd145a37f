"""The fixtures every test may use (`tests/fixtures/`), and the twin's (`discord_twin.fixtures`)."""

from discord_twin.fixtures import discord_twin, twin_world  # noqa: F401
from tests.fixtures.bot import start_bot  # noqa: F401
from tests.fixtures.mnist import test_digits  # noqa: F401
from tests.fixtures.models import small_run, store, trained_store  # noqa: F401
from tests.fixtures.postgres import (  # noqa: F401
    backend,
    database_location,
    postgres_admin,
    postgres_server,
    postgres_url,
    relay,
    store_location,
)
