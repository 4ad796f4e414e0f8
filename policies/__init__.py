"""The shipped policies (data files), importable so that importlib.resources finds them."""
