"""Call-center backend for Asterisk."""
