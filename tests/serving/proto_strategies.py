"""Hypothesis strategies built from protobuf descriptors: hostile messages and broken bytes.

`requests(descriptor, hints)` draws messages of any type, generically: one strategy per field
type, lists and maps of every size (past the server's limits too), nested messages, open
enums with unknown numbers, out-of-range timestamps. Half the messages are "plausible":
fields named in `hints` mostly take one of its values, so calls also get past validation and
into the code behind it. `garbage(descriptor, hints)` draws bytes that do not parse as one.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

# field name (or "map_field.key"/"map_field.value", or a message's full name) -> good values
Hints = dict[str, tuple[Any, ...]]
MAX_DEPTH = 3  # nested messages deeper than this are left empty (recursive types end)
SMALL_LIST = 4
HUGE_LIST = 3000  # past every limit (1000 events, 1000 ids, 100 excludes, 32 context entries)
HUGE_STRING = 300_000  # two-byte characters: 600 kB, and past 1 MiB with two of them
PLAUSIBLE_ODDS = 10  # in a plausible message, a hinted field is hostile once in 10
SPECIAL_STRINGS = (
    "", " ", "\x00", "C1\x00", " C1", "C1\n", "\t", "é", "💳", "\u202e", "\ufeff", "\x7f",
    "x" * 128, "x" * 129, "𝕏" * 129, "'; DROP TABLE events; --", "%s%n%x", "../../etc/passwd",
    "NaN", "-1", "1e400", "null", "true", "9" * 400,
)  # fmt: skip
INTEGERS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def requests(descriptor: Descriptor, hints: Hints) -> st.SearchStrategy[Message]:
    """Messages of `descriptor`'s type: half hostile throughout, half mostly plausible."""
    return st.one_of(
        message(descriptor, hints, plausible=False), message(descriptor, hints, plausible=True)
    )


def message(
    descriptor: Descriptor, hints: Hints, *, plausible: bool, depth: int = 0, small: bool = False
) -> st.SearchStrategy[Message]:
    """Messages of one type, each field set (or left unset) independently."""
    cls = GetMessageClass(descriptor)
    if depth > MAX_DEPTH:
        return st.builds(cls)
    shape = _Shape(hints, plausible, depth, small)
    fields = [(f, shape.field(f), _set_odds(f, hints, plausible)) for f in descriptor.fields]

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        out = cls()
        for field, values, odds in fields:
            if draw(st.integers(0, 99)) < odds * 100:  # integers draw near uniformly
                assign(out, field, draw(values))
        return out

    whole = hints.get(descriptor.full_name, ())  # whole good messages (timestamps)
    if not whole:
        return build()
    if plausible:
        return _mostly(st.sampled_from(whole), build())
    return st.one_of(build(), st.sampled_from(whole))


def _set_odds(field: FieldDescriptor, hints: Hints, plausible: bool) -> float:
    """How often a field is set: a plausible message has its hinted and nested fields set."""
    if not plausible:
        return 0.5
    nested = field.type == FieldDescriptor.TYPE_MESSAGE
    return 0.95 if nested or field.name in hints else 0.3


class _Shape:
    """Field strategies for one message type in one mode (plausible or not, small or not)."""

    def __init__(self, hints: Hints, plausible: bool, depth: int, small: bool) -> None:
        self.hints, self.plausible, self.depth, self.small = hints, plausible, depth, small

    def field(self, field: FieldDescriptor) -> st.SearchStrategy:
        """What the field may be set to: a value, a list, or a dict (map fields)."""
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            return self.map(field)
        element = self.single(field, field.name)
        if not field.is_repeated:
            return element
        few = st.lists(element, max_size=SMALL_LIST)
        if self.small:
            return few
        # the elements of a huge list are small, so a message stays within a few MiB
        small = _Shape(self.hints, self.plausible, self.depth, small=True)
        huge = _many(small.single(field, field.name))
        if self.plausible:
            return _mostly(st.lists(element, min_size=1, max_size=SMALL_LIST), st.one_of(few, huge))
        return st.one_of(few, huge)

    def single(self, field: FieldDescriptor, hint_key: str) -> st.SearchStrategy:
        """One value (an element, for a repeated field): hinted or hostile."""
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            return message(field.message_type, self.hints, plausible=self.plausible,
                           depth=self.depth + 1, small=self.small)  # fmt: skip
        hostile = _scalar(field, self.small)
        good = self.hints.get(hint_key, ())
        if not good:
            return hostile
        if self.plausible:
            return _mostly(st.sampled_from(good), hostile)
        return st.one_of(hostile, st.sampled_from(good))

    def map(self, field: FieldDescriptor) -> st.SearchStrategy[dict]:
        """A few entries, or (string keys) very many."""
        entry = field.message_type
        small = _Shape(self.hints, self.plausible, self.depth, small=True)
        keys = small.single(entry.fields_by_name["key"], f"{field.name}.key")
        values = self.single(entry.fields_by_name["value"], f"{field.name}.value")
        few = st.dictionaries(keys, values, max_size=SMALL_LIST)
        if self.small or entry.fields_by_name["key"].type != FieldDescriptor.TYPE_STRING:
            return few
        lots = st.tuples(st.integers(SMALL_LIST + 1, HUGE_LIST), values).map(
            lambda t: {f"k{i}": t[1] for i in range(t[0])}
        )
        if self.plausible:
            return _mostly(st.dictionaries(keys, values, max_size=2), st.one_of(few, lots))
        return st.one_of(few, lots)


def _mostly(usual: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """`other` about once in PLAUSIBLE_ODDS draws, else `usual`.

    (st.one_of cannot weigh: repeating a branch does not make it likelier.)
    """
    return st.integers(1, PLAUSIBLE_ODDS).flatmap(lambda i: other if i == 1 else usual)


def _many(element: st.SearchStrategy) -> st.SearchStrategy[list]:
    """A list past the limits: one element repeated (cheap to draw, as costly to check)."""
    return st.tuples(st.integers(SMALL_LIST + 1, HUGE_LIST), element).map(lambda t: [t[1]] * t[0])


def _integers(low: int, high: int) -> st.SearchStrategy[int]:
    """Anywhere in the type's range, with its edges and the small numbers limits sit at."""
    edges = [v for v in (low, high, -1, 0, 1, 5, 50, 51, 1000, 1001) if low <= v <= high]
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


def _scalar(field: FieldDescriptor, small: bool) -> st.SearchStrategy[Any]:
    """Hostile values of one non-message field type."""
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        options = [st.text(max_size=40), st.sampled_from(SPECIAL_STRINGS)]
        if not small:
            options.append(st.integers(129, HUGE_STRING).map(lambda n: "é" * n))
        return st.one_of(options)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64 if small else 4096)
    if kind in INTEGERS:
        return _integers(*INTEGERS[kind])
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_FLOAT:
        return st.floats(width=32)
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return st.floats()
    if kind == FieldDescriptor.TYPE_ENUM:
        known = st.sampled_from([v.number for v in field.enum_type.values])
        if field.enum_type.is_closed:
            return known
        return st.one_of(known, _integers(-(2**31), 2**31 - 1))  # open enums keep unknown ones
    raise AssertionError(f"{field.full_name}: no strategy for field type {kind}")


def assign(target: Message, field: FieldDescriptor, value: Any) -> None:
    """Set `field` of `target` to `value` (a scalar, message, list or dict)."""
    current = getattr(target, field.name)
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, Message):
                current[k].CopyFrom(v)
            else:
                current[k] = v
    elif isinstance(value, list):
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for v in value:
                current.add().CopyFrom(v)
        else:
            current.extend(value)
    elif isinstance(value, Message):
        current.CopyFrom(value)
    else:
        setattr(target, field.name, value)


# --- bytes that are no valid message -----------------------------------------------------
def garbage(descriptor: Descriptor, hints: Hints) -> st.SearchStrategy[bytes]:
    """Random bytes, mutated messages, bad UTF-8, wrong wire types, deeply nested groups."""
    truncated_or_wrong = [
        b"\x08",  # a varint field with no value
        b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # a varint of 11 bytes
        b"\x0d\x00",  # a fixed32 cut short
        b"\x0f",  # wire type 7 does not exist
        b"\x0c",  # an end-group tag with no group
        b"\x0a\xff\xff\xff\xff\x0f",  # a length of 4 GiB
    ]
    return st.one_of(
        st.binary(max_size=256),
        _mutated(message(descriptor, hints, plausible=True, small=True)),
        _bad_utf8(descriptor),
        st.sampled_from(truncated_or_wrong),
        st.integers(1, 200_000).map(lambda n: b"\xfb\x01" * n),  # unclosed nested groups
    )


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _bad_utf8(descriptor: Descriptor) -> st.SearchStrategy[bytes]:
    """A string field of the message holding bytes that are not UTF-8."""
    numbers = [f.number for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING]
    if not numbers:
        return st.nothing()
    payload = st.sampled_from([b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"ok\xfe", b"\x80" * 9])
    return st.tuples(st.sampled_from(numbers), payload).map(
        lambda t: _varint(t[0] << 3 | 2) + _varint(len(t[1])) + t[1]
    )


def _mutated(valid: st.SearchStrategy[Message]) -> st.SearchStrategy[bytes]:
    """A valid message's bytes, cut short or with one byte changed."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(valid).SerializeToString())
        if not data:
            return b"\x0a"  # a length-delimited field 1 with no length
        at = draw(st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            return bytes(data[:at])
        data[at] = draw(st.integers(0, 255))
        return bytes(data)

    return mutate()
