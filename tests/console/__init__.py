"""The operator console's tests; a package, so that the browser and the web app live only as long as
these tests (package-scoped fixtures in conftest.py)."""
