# The shop fixtures are the orders tests' (one restaurant with a user per staff role).
from tests.pos.conftest import api, rival, shop  # noqa: F401
