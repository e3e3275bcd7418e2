"""Pinyin search keys: staff on a tablet type 张伟 as "zhangwei", "zw" or "zhang w"."""
import re

from peewee import CharField
from pypinyin import Style, lazy_pinyin

from models.base import BaseModel, starts_with

#: Surnames read differently from the same character in a word (曾经 ceng, 曾伟 Zeng Wei). pypinyin
#: 0.55 has no surname mode; it already reads the compound surnames (单于, 尉迟, 万俟) right.
SURNAMES = {
    "曾": "zeng", "单": "shan", "仇": "qiu", "解": "xie", "查": "zha", "朴": "piao", "区": "ou", "盖": "ge",
    "乐": "yue", "秘": "bi", "召": "shao", "繁": "po", "折": "she", "员": "yun", "种": "chong", "覃": "qin",
    "缪": "miao", "翟": "zhai", "句": "gou", "祭": "zhai", "阚": "kan", "隗": "wei", "薄": "bo", "长": "chang",
    "重": "chong", "乜": "nie", "佴": "nai", "粘": "nian", "卜": "bu", "禅": "shan",
}
COMPOUND_SURNAMES = ("单于", "尉迟", "万俟", "长孙", "令狐", "澹台", "宇文", "上官", "欧阳", "司马", "诸葛")
#: Long enough for an 80-character name's pinyin to be told apart, short enough for the index.
KEY_LENGTH = 160
_WORDS = re.compile(r"[0-9a-z]+")
_TYPED = re.compile(r"[\s'’·.\-]+")


def _syllables(name):
    """Each Chinese character's toneless pinyin (ü as v, as staff type it) and each Latin word or number."""
    words = lazy_pinyin(name, style=Style.NORMAL, errors=lambda chunk: _WORDS.findall(chunk.lower()))
    if name[:1] in SURNAMES and not name.startswith(COMPOUND_SURNAMES):
        words[0] = SURNAMES[name[0]]
    return [w for w in words if w]


def search_keys(name):
    """(full pinyin, initials) of a name: 张伟 -> ("zhangwei", "zw"). "zhang w" is found too: a typed
    query loses its spaces, so it is a prefix of the full pinyin."""
    words = _syllables((name or "").strip())
    return "".join(words)[:KEY_LENGTH], "".join(w[0] for w in words)[:KEY_LENGTH]


def typed_key(text):
    """What was typed, as a key to look up; "" when it is not pinyin (characters, digits only)."""
    key = _TYPED.sub("", (text or "").strip().lower())
    return key if key.isascii() and key.isalnum() and not key.isdigit() else ""


class PinyinNamed(BaseModel):
    """A record found by the pinyin of a name (pinyin_source names the field). The keys are computed on
    save(); create_tables fills them for rows older than the columns."""

    pinyin_source = None
    name_pinyin = CharField(max_length=KEY_LENGTH, default="", index=True)
    name_initials = CharField(max_length=KEY_LENGTH, default="", index=True)

    def save(self, *args, **kwargs):
        self.name_pinyin, self.name_initials = search_keys(getattr(self, self.pinyin_source))
        return super().save(*args, **kwargs)

    def snapshot(self):
        values = super().snapshot()
        values.pop("name_pinyin", None)
        values.pop("name_initials", None)
        return values

    @classmethod
    def fill_added_columns(cls, names):
        super().fill_added_columns(names)
        if {"name_pinyin", "name_initials"} & names:
            fill_keys(cls)

    @classmethod
    def pinyin_matches(cls, text):
        """A condition: the name's pinyin or initials start with what was typed (both from an index),
        or None when the text is not pinyin."""
        key = typed_key(text)
        if not key:
            return None
        return starts_with(cls.name_pinyin, key) | starts_with(cls.name_initials, key)

    @classmethod
    def name_matches(cls, text):
        """A name search: the characters anywhere in the name, or its pinyin from the start."""
        condition = getattr(cls, cls.pinyin_source) ** f"%{text}%"
        pinyin = cls.pinyin_matches(text)
        return condition | pinyin if pinyin is not None else condition


def fill_keys(model):
    """Compute the keys of every row (an older database, rows inserted in bulk): one update per distinct
    name, as visitors and customers come back under the same name."""
    source = getattr(model, model.pinyin_source)
    for (name,) in model.select(source).distinct().tuples().iterator():
        full, initials = search_keys(name)
        model.update(name_pinyin=full, name_initials=initials).where(source == name).execute()
