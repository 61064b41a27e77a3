"""Checks over a page's rendered text: no raw code, and in Dutch no English from the catalogue.

Not a list of known bad strings: every text node and every text attribute (aria-label, title,
alt, placeholder, option and button texts) of the page is read in the browser, then

* **raw codes**: words shaped like a stored code — dotted (``case.viewed``), underscored
  (``gaze_away``) or an enum name (``AWAITING_REQUESTER``) — are refused everywhere;
* **English in Dutch mode**: a text that *is* an English message of the catalogue whose Dutch
  differs, or that contains a multi-word one, or a word the English messages use and the Dutch
  catalogue never does ("recording", "portal"), is refused on a Dutch page.

Text people typed or that is quoted as stored (an e-mail address, a file name, the audit trail's
raw details, a vendor's own description) is marked ``data-verbatim`` by the templates and skipped,
as are e-mail addresses, URLs and file names anywhere.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.pofile import read_po

CATALOGUE = (
    Path(__file__).resolve().parents[2] / "rights_portal/translations/nl/LC_MESSAGES/messages.po"
)

COLLECT_TEXT = """() => {
  const skip = "script, style, template, noscript, [data-verbatim]";
  const texts = [];
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    const text = node.textContent.replace(/\\s+/g, " ").trim();
    if (text) texts.push(text);
  }
  const labelled = "[aria-label], [title], [alt], [placeholder], input[type=submit], option[label]";
  for (const el of document.querySelectorAll(labelled)) {
    if (el.closest(skip)) continue;
    for (const name of ["aria-label", "title", "alt", "placeholder", "label"]) {
      const value = el.getAttribute(name);
      if (value && value.trim()) texts.push(value.replace(/\\s+/g, " ").trim());
    }
    if (el.matches("input[type=submit]")) texts.push(el.value);
  }
  return texts;
}"""

FILE_EXTENSIONS = {
    "pdf", "png", "jpg", "jpeg", "csv", "zip", "txt", "json", "log", "webm", "mp4", "eml",
    "html", "svg", "ics", "xml", "example", "test",
}  # fmt: skip
DOTTED = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*(?:\.[a-z][a-z0-9]*(?:_[a-z0-9]+)*)+")
UNDERSCORED = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+|[A-Z0-9]+(?:_[A-Z0-9]+)+")
STRIP = "()[]{}\u201c\u201d\u2018\u2019\"'.,;:!?\u00ab\u00bb\u2026\u00b7\u2014\u2013"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%|%[sd]")
WORD = re.compile(r"[A-Za-zÀ-ÿ]+(?:[-'][A-Za-zÀ-ÿ]+)*")


@dataclass(frozen=True)
class Catalogue:
    """The English messages that have a different Dutch text, and the words of each language."""

    english_texts: frozenset[str]
    english_phrases: tuple[str, ...]
    english_only_words: frozenset[str]


def _parts(message: str) -> set[str]:
    """A message's texts between its placeholders, normalised (words only, lower case)."""
    plain = PLACEHOLDER.sub("  ", message).replace("%%", "%")
    parts = set()
    for part in re.split(r"\s{2,}", plain):
        part = " ".join(part.split()).strip(" .:").lower()
        if re.search(r"[a-z]{2}", part):  # words, not "(%(a)s)"'s punctuation
            parts.add(part)
    return parts


@functools.cache
def catalogue() -> Catalogue:
    with CATALOGUE.open("rb") as handle:
        po = read_po(handle)
    texts: set[str] = set()
    dutch_texts: set[str] = set()
    dutch_words: set[str] = set()
    english_words: set[str] = set()
    for message in po:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            dutch_words.update(w.lower() for w in WORD.findall(PLACEHOLDER.sub(" ", text or "")))
            dutch_texts.update(_parts(text or ""))
        for english in ids:
            english_words.update(w.lower() for w in WORD.findall(PLACEHOLDER.sub(" ", english)))
            if english in strings:
                continue  # the same in both languages ("Status", "Student")
            texts.update(_parts(english))
    texts -= dutch_texts  # a text Dutch uses too ("Student", "Status") is no sign of English
    phrases = tuple(sorted(t for t in texts if len(t.split()) >= 3))
    # Words of the English messages that no Dutch message uses. Short words and words shared by
    # the two languages ("in", "is", "data", "video", "export") are not evidence of English.
    only = {w for w in english_words - dutch_words if len(w) >= 4}
    return Catalogue(frozenset(texts), phrases, frozenset(only))


def _words(text: str) -> list[str]:
    out = []
    for raw in text.split():
        if "@" in raw or "/" in raw or "://" in raw:
            continue  # an e-mail address or a URL
        if "." in raw and raw.strip(STRIP).rsplit(".", 1)[-1].lower() in FILE_EXTENSIONS:
            continue  # a file name
        out.append(raw.strip(STRIP))
    return [w for w in out if w]


def raw_codes(texts: list[str]) -> list[str]:
    """Words in the texts that look like a stored code rather than words for people."""
    found = []
    for text in texts:
        for word in _words(text):
            if DOTTED.fullmatch(word):
                parts = word.split(".")
                if parts[-1] in FILE_EXTENSIONS or all(len(p) == 1 for p in parts):
                    continue  # a file name, or "e.g."
                found.append(f"{word!r} in {text!r}")
            elif UNDERSCORED.fullmatch(word) and not word.replace("_", "").isdigit():
                found.append(f"{word!r} in {text!r}")
    return found


def english_in_dutch(texts: list[str], *, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Texts of a Dutch page that are, or contain, English from the catalogue."""
    cat = catalogue()
    found = []
    for text in texts:
        lowered = " ".join(text.lower().split())
        if lowered in allowed:
            continue
        if lowered.strip(" .:") in cat.english_texts:
            found.append(f"English message {text!r}")
            continue
        phrase = next((p for p in cat.english_phrases if p in lowered), None)
        if phrase:
            found.append(f"English phrase {phrase!r} in {text!r}")
            continue
        readable = " ".join(_words(text))  # without e-mail addresses and URLs
        words = [w for w in WORD.findall(readable) if w.lower() in cat.english_only_words]
        words = [w for w in words if w.lower() not in allowed]
        if words:
            found.append(f"English words {words} in {text!r}")
    return found
