"""Pictures of networks and runs: plots (matplotlib, headless) and the live board (browser)."""
