"""The `deploychecks` command: a pipeline's client of the API (httpx only, no Django)."""
