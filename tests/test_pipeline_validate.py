"""Validation against the article schema: what passes, what is rejected and why."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from crawler.items import Article
from pipelines.validate import FIELDS, SCHEMA, SCHEMA_PATH, find_problems

GOOD = Article(
    id="018955625", url="http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml",
    title="许勤会见新加坡驻华大使", timestamp="2018-07-17T10:20:26+08:00", body="第一段。\n第二段。",
    subtitles=["许勤会见新加坡驻华大使"], source="河北日报客户端", authors=["薛惠娟", "任学光"],
    captions=["会见现场。 记者 庞晓玮 摄"],
    images=[{"url": "http://pic1.hebei.com.cn/003/20180717/a_1.jpg", "caption": "会见现场。 记者 庞晓玮 摄"}],
    editor="陈美冉", keywords=["许勤"], breadcrumbs=["河北频道", "省领导活动报道集", "许勤", "其他活动"],
    appearances=[{"url": "http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml",
                  "breadcrumbs": ["河北频道", "省领导活动报道集", "许勤", "其他活动"],
                  "timestamp": "2018-07-17T10:20:26+08:00"}],
    channel="heb_sldhdbdj", fetched_at="2026-11-26T08:00:00+00:00", pages=1, parser="enorth-b/v1")


def record(**changes: Any) -> dict[str, Any]:
    return {**dataclasses.asdict(GOOD), **changes}


def fields_at_fault(item: dict[str, Any]) -> list[str]:
    return [p.field for p in find_problems(item)]


def test_the_schema_requires_every_field_of_the_item():
    assert set(FIELDS) == set(SCHEMA["required"]) == {f.name for f in dataclasses.fields(Article)}


def test_the_schema_is_valid_json_schema():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (the reference validator) is not installed")
    jsonschema.Draft7Validator.check_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    jsonschema.Draft7Validator(SCHEMA).validate(record())


def test_a_complete_item_passes_and_so_does_a_photo_story_without_body():
    assert find_problems(record()) == []
    assert find_problems(record(body="")) == []  # it has captions
    assert find_problems(record(source=None, editor=None, authors=[], keywords=[], breadcrumbs=[])) == []


@pytest.mark.parametrize("changes, field", [
    ({"url": ""}, "url"),
    ({"url": "heb.hebei.com.cn/system/1.shtml"}, "url"),
    ({"title": ""}, "title"),
    ({"title": None}, "title"),
    ({"timestamp": "2018-07-17 10:20:26"}, "timestamp"),  # no offset
    ({"timestamp": "2018-02-30T10:20:26+08:00"}, "timestamp"),  # no such day
    ({"body": None}, "body"),
    ({"body": "", "captions": [], "images": []}, "body"),  # empty, and not a photo story
    ({"authors": "薛惠娟 任学光"}, "authors"),
    ({"images": [{"url": "http://pic1.hebei.com.cn/a.jpg"}]}, "images"),
    ({"pages": "1"}, "pages"),
    ({"pages": 0}, "pages"),
    ({"appearances": []}, "appearances"),
])
def test_each_defect_names_its_field(changes: dict[str, Any], field: str):
    assert fields_at_fault(record(**changes)) == [field]


def test_missing_and_unknown_fields():
    item = record(score=3)
    del item["keywords"]
    problems = find_problems(item)
    assert {(p.field, p.message) for p in problems} == {
        ("keywords", "is missing"), ("score", "is not a field of the article")}


def test_the_replacement_character_is_a_defect_wherever_it_is():
    item = record(editor="陈美\ufffd", captions=["会见现场。\ufffd"])
    problems = find_problems(item)
    assert [p.field for p in problems] == ["captions", "editor"]
    assert all("U+FFFD" in p.message for p in problems)
    nested = record()
    nested["images"] = [{"url": "http://heb.hebei.com.cn/a.jpg", "caption": "许勤\ufffd调研"}]
    nested["appearances"][0]["breadcrumbs"] = ["河北频道", "\ufffd"]
    nested["keywords"] = ("许勤", "调研\ufffd")  # a tuple is an array to the schema
    assert {p.field for p in find_problems(nested) if "U+FFFD" in p.message} == {"images", "appearances", "keywords"}
    assert not [p for p in find_problems(record(body="U+FFFD 是替换字符")) if "U+FFFD" in p.message]


def test_several_defects_are_all_reported():
    assert fields_at_fault(record(title="", body=None, pages=-1)) == ["title", "body", "pages"]
