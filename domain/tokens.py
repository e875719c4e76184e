"""A token estimate good enough for budgets, for Chinese and English alike.

Real tokenizers give roughly one token per CJK character and one per common English word
(about five letters); this stays close to that without a vocabulary. A real tokenizer can
replace it through the application's TokenCounter port.
"""

from __future__ import annotations

import math
import re

# CJK ideographs, kana, hangul, and full-width punctuation count one token each.
_CJK = re.compile(
    r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SYMBOL = re.compile(r"[^\w\s]|_", re.UNICODE)

# Chat formats add a few tokens around every message (role markers, separators).
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_tokens(text: str) -> int:
    cjk = len(_CJK.findall(text))
    rest = _CJK.sub(" ", text)
    words = sum(math.ceil(len(word) / 5) for word in _WORD.findall(rest))
    symbols = len(_SYMBOL.findall(rest))
    return cjk + words + symbols
