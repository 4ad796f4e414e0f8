"""The shipped cerberus schemas (data files), importable so that importlib.resources finds them."""
