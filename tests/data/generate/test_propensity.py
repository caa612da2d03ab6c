"""Propensity tables: well-formed, and the chains they plant point the intended way."""

from __future__ import annotations

import numpy as np

from recsys.data.generate.catalog import build_catalog
from recsys.data.generate.customers import INCOME_BANDS, SEGMENTS
from recsys.data.generate.propensity import N_AGE_BANDS, N_INCOME, build_propensity


def test_tables_are_aligned_with_the_catalog_and_normalised() -> None:
    catalog = build_catalog()
    prop = build_propensity(catalog)
    n = len(catalog)
    assert prop.transition.shape == (n, n)
    np.testing.assert_allclose(prop.transition.sum(axis=1), 1.0, rtol=1e-5)
    assert abs(prop.base.sum() - 1.0) < 1e-5
    assert prop.profile.shape == (len(SEGMENTS) * N_AGE_BANDS * N_INCOME, n)
    assert N_INCOME == len(INCOME_BANDS) + 1
    assert (prop.profile >= 0).all() and (prop.base > 0).all()


def test_successors_encode_the_life_cycle_chains() -> None:
    catalog = build_catalog()
    prop = build_propensity(catalog)

    def top(pid: str) -> str:
        return str(catalog.ids[prop.transition[catalog.index(pid)].argmax()])

    assert top("CA_SALARY") == "CC_CLASSIC"
    assert top("CC_CLASSIC") == "INS_TRAVEL"
    assert top("MG_FIXED") == "INS_HOME"
    assert top("AL_NEW") == "INS_CAR"
    assert [top(p) for p in ("MF_BOND", "MF_BALANCED", "MF_EQUITY")] == [
        "MF_BALANCED", "MF_EQUITY", "MF_EMERGING"
    ]


def test_profile_group_indexes_every_combination_once() -> None:
    prop = build_propensity(build_catalog())
    seg, band, inc = np.meshgrid(
        np.arange(len(SEGMENTS)), np.arange(N_AGE_BANDS), np.arange(-1, N_INCOME - 1),
        indexing="ij",
    )
    groups = prop.profile_group(seg.ravel(), band.ravel(), inc.ravel())
    assert sorted(groups.tolist()) == list(range(len(prop.profile)))
