"""How much of a callback is read: bounds that refuse only what WeCom never sends."""

MAX_ENVELOPE_BYTES = 256 * 1024
MAX_FIELD_BYTES = 64 * 1024
# Names end up in stream and conversation ids, which the store keeps in 255-character columns;
# a WeCom UserID is at most 64 bytes, so this refuses only what WeCom never sends.
MAX_NAME_CHARS = 200
