"""The transport layer, below both the checks and the runner: one bounded HTTP client whose answers carry a
typed outcome, and the safety guard that decides which requests may be sent to a real account at all."""
