"""The security plugin: security headers on every response, and a trusted-Host check."""
