"""The service's English field messages shown in the page's language (kit's
translate_fields + the service desk's own patterns; Chinese written here)."""
from marshmallow import Schema, ValidationError, fields, validate

from services.common.web.i18n import translator
from services.service_desk import page_messages as sd


class _Ctx:
    def __init__(self, lang):
        self.lang, self.t = lang, translator(lang, "service_desk")


def test_zh_cn_messages_and_english_left_alone():
    fields_ = {"severity": ["Must be one of: critical, high, medium, low."],
               "subject": ["Length must be between 1 and 200."],
               "description": ["must not contain a resident ID number (SENSITIVE_DATA)"],
               "nested": {"0": {"x": ["Missing data for required field."]}},
               "plan": ["staff can only create plans they own"],
               "period": ["YYYY-MM, YYYY-Qn, YYYY or YYYY-MM-DD..YYYY-MM-DD"],
               "other": ["something new"]}
    got = sd.errors(_Ctx("zh_CN"), fields_)
    assert got == {"severity": ["请从列表中选择。"], "subject": ["长度须在 1 到 200 个字符之间。"],
                   "description": ["不得包含身份证号或银行卡号"],
                   "nested": {"0": {"x": ["此项为必填项。"]}},
                   "plan": ["员工只能为自己建立计划"],
                   "period": ["格式如 2026-11、2026-Q4、2026 或 2026-11-01..2026-11-30"],
                   "other": ["something new"]}
    assert sd.errors(_Ctx("en"), fields_) == fields_


def test_a_real_validation_error_in_chinese():
    class S(Schema):
        kind = fields.String(required=True, validate=validate.OneOf(["inquiry"]))
        score = fields.Integer(validate=validate.Range(min=1, max=5))

    try:
        S().load({"score": 9, "extra": 1})
    except ValidationError as exc:
        got = sd.errors(_Ctx("zh_CN"), exc.messages)
    assert got == {"kind": ["此项为必填项。"], "score": ["须在 1 到 5 之间。"],
                   "extra": ["不支持的字段。"]}
