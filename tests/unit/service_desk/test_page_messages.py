"""The service's English field messages shown in the page's language."""
from services.common.web.i18n import translator
from services.service_desk import page_messages as sd


def test_zh_cn_messages_and_english_left_alone():
    t = translator("zh_CN", "service_desk")
    fields = {"severity": ["Must be one of: critical, high, medium, low."],
              "subject": ["Length must be between 1 and 200."],
              "description": ["must not contain a resident ID number (SENSITIVE_DATA)"],
              "nested": {"0": {"x": ["Missing data for required field."]}},
              "other": ["something new"]}
    got = sd.translate_fields(sd.PATTERNS, fields, t, "zh_CN")
    assert got == {"severity": ["请从列表中选择"], "subject": ["长度应为 1–200 个字符"],
                   "description": ["不得包含身份证号或银行卡号"],
                   "nested": {"0": {"x": ["必填"]}}, "other": ["something new"]}
    en = translator("en", "service_desk")
    assert sd.translate_fields(sd.PATTERNS, fields, en, "en") == fields
