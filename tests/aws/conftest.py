"""The typing snippets are checked by mypy from test_contract.py; pytest must not import them."""

collect_ignore = ["typing_snippets"]
