"""The `posemamba` command line: thin typer commands over the library."""
