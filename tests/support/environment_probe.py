"""Stands in for the document reader program and answers with the environment it was given
as its "text", so a test can see what a reader process would see."""

import json
import os
import sys

if __name__ == "__main__":
    sys.stdout.write(json.dumps({"text": json.dumps(dict(os.environ)), "left_out": ""}))
