"""Policy versions, channels, re-consent, and the public privacy pages."""
