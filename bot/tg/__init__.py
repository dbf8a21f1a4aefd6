"""The Telegram adapter: handlers, message limits, polling and webhook, running and reloading."""
