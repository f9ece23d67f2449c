"""Root conftest: puts this checkout first on sys.path for the tests."""
