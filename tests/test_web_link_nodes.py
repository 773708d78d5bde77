"""The pages of link nodes (a cross-city link, an SDG link): named by what they join, and reachable from the
elements they join (the real server on loopback, over the bundled build)."""

from __future__ import annotations

import html
from collections.abc import Iterator

import httpx
import pytest

from plan_kg.build import BuildResult
from plan_kg.config import Settings
from plan_kg.server import create_app
from server_fixtures import live_app

CROSS_CITY = "/id/131202/vision-3/S6/match/132292/basic-plan-3/3-2-2-2"
SDG_LINK = "/id/132292/basic-plan-3/1-1-1-1/sdg/11.3"


@pytest.fixture(scope="module")
def client(built: BuildResult) -> Iterator[httpx.Client]:
    with live_app(create_app(Settings.load(dist_dir=built.out_dir))) as url, \
            httpx.Client(base_url=url.removesuffix("/sparql"), timeout=30) as http:
        yield http


def page(client: httpx.Client, path: str) -> str:
    answer = client.get(path + ".html")
    assert answer.status_code == 200, path
    return html.unescape(answer.text)


def test_a_cross_city_link_is_named_by_the_two_elements_and_its_score(client: httpx.Client) -> None:
    text = page(client, CROSS_CITY)
    assert "（名称未定）" not in text and "(no name yet)" not in text  # the heading of a planned element
    assert "他自治体との対応 練馬区 S6 ↔ 西東京市 3-2-2-2（skos:closeMatch, 0.614）" in text
    assert "<title>他自治体との対応 練馬区 S6 ↔ 西東京市 3-2-2-2" in text
    # the English caption names the cities in English (it read "Cross-city link 練馬区 S6 ↔ 西東京市 …")
    assert "Cross-city link Nerima City S6 ↔ Nishitokyo City 3-2-2-2 (skos:closeMatch, 0.614)" in text


def test_an_element_links_to_its_cross_city_link_nodes(client: httpx.Client) -> None:
    """The score, method and date of a counterpart are the link node's: the element's page leads there."""
    text = page(client, "/id/131202/vision-3/S6")
    assert f'href="{CROSS_CITY}"' in text
    assert "Linked from" in text and "練馬区 S6 ↔ 西東京市 3-2-2-2（skos:closeMatch, 0.614）" in text


def test_another_citys_element_is_placed_in_japanese_and_in_english(client: httpx.Client) -> None:
    """The city beside a link to an element of its plan was given in Japanese alone, to English readers too."""
    text = page(client, "/id/131202/vision-3/S6")
    place = '<span class="place"><span lang="ja">西東京市</span> <span lang="en" class="en">Nishitokyo City</span></span>'
    assert place in text


def test_an_sdg_link_is_named_and_leads_back_to_its_initiative(client: httpx.Client) -> None:
    text = page(client, SDG_LINK)
    assert "（名称未定）" not in text
    assert "SDGs との対応 西東京市 1-1-1-1 → ターゲット 11.3" in text
    assert "SDG link Nishitokyo City 1-1-1-1 → target 11.3" in text
    assert 'href="/id/132292/basic-plan-3/1-1-1-1"' in text  # the initiative, named nowhere in the node's own triples
