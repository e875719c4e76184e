"""The sandbox: a WeCom emulator to try weworktop with, no WeCom account needed.

It plays WeCom's side over real HTTP: it signs and encrypts callbacks to the service's
callback URL and serves the API the service calls through `api_base_url`, and it has a page
where a person chats as a member of a sample corp. It is not part of the service: no
production package imports it (import-linter checks), and it knows the service only through
HTTP, like WeCom, plus the service's operator API, to show why a message got no answer.
"""
