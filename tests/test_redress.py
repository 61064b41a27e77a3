"""R19: which route of redress a decision on a GDPR request names depends on the institution."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from rights_portal.cases.redress import (
    InstitutionKind,
    gdpr_redress,
    gdpr_redress_after_refusal,
    gdpr_redress_route,
    institution_kind,
)
from rights_portal.config import build_config

TRANSLATIONS = str(Path(__file__).resolve().parent.parent / "rights_portal" / "translations")


def app_of(kind: str) -> Flask:
    app = Flask(__name__)
    app.config.update(INSTITUTION_KIND=kind, BABEL_TRANSLATION_DIRECTORIES=TRANSLATIONS)
    Babel(app)
    return app


def test_the_default_institution_is_public(tmp_path: Path) -> None:
    assert build_config(tmp_path)["INSTITUTION_KIND"] == "public"


def test_an_unknown_kind_of_institution_stops_the_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="public or private"):
        build_config(tmp_path, {"INSTITUTION_KIND": "semi-public"})


def test_a_public_institution_names_objection_then_the_administrative_court_and_the_ap() -> None:
    with app_of("public").app_context(), force_locale("en"):
        assert institution_kind() is InstitutionKind.PUBLIC
        for text in (gdpr_redress(), gdpr_redress_after_refusal()):
            assert "object (bezwaar)" in text and "6 weeks" in text
            assert "administrative court" in text and "Autoriteit Persoonsgegevens" in text
            assert "civil court" not in text
        assert "bezwaar" in gdpr_redress_route()


def test_a_private_institution_names_the_civil_court_and_the_ap_not_an_objection() -> None:
    with app_of("private").app_context(), force_locale("en"):
        assert institution_kind() is InstitutionKind.PRIVATE
        for text in (gdpr_redress(), gdpr_redress_after_refusal()):
            assert "civil court" in text and "article 35 UAVG" in text and "6 weeks" in text
            assert "Autoriteit Persoonsgegevens" in text
            assert "bezwaar" not in text
        assert "civil court" in gdpr_redress_route()


@pytest.mark.parametrize("kind", ["public", "private"])
def test_the_routes_are_in_dutch_by_default(kind: str) -> None:
    with app_of(kind).app_context(), force_locale("nl"):
        for text in (gdpr_redress(), gdpr_redress_after_refusal(), gdpr_redress_route()):
            assert "binnen 6 weken" in text
        assert ("bestuursrechter" if kind == "public" else "burgerlijke rechter") in gdpr_redress()
