import json
import logging

from application.pipeline.log_context import current_message
from infrastructure.logging_setup import configure_logging


def emit(capsys, json_lines: bool) -> str:
    configure_logging(["s3cr3t-value-123"], level="INFO", json_lines=json_lines)
    token = current_message.set("msg:1000001:42")
    try:
        logging.getLogger("weworktop.test").info("sending with %s", "s3cr3t-value-123")
    finally:
        current_message.reset(token)
    logging.getLogger("weworktop.test").info("no message here")
    return capsys.readouterr().err


def test_json_lines_carry_the_message_id_and_no_secret(capsys):
    first, second = [json.loads(line) for line in emit(capsys, json_lines=True).splitlines()]
    assert first["message_id"] == "msg:1000001:42"
    assert first["level"] == "INFO" and first["logger"] == "weworktop.test"
    assert "s3cr3t" not in first["message"] and "[redacted]" in first["message"]
    assert second["message_id"] == ""


def test_text_lines_tag_the_message_they_are_about(capsys):
    first, second = emit(capsys, json_lines=False).splitlines()
    assert "weworktop.test [msg:1000001:42]: sending with [redacted]" in first
    assert "weworktop.test: no message here" in second
