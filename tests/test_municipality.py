import pytest

from plan_kg.errors import SourceError
from plan_kg.municipality import check_digit, check_municipality_code


@pytest.mark.parametrize("code", ["132292", "131202", "132039", "132136", "132110", "011002"])
def test_known_codes_have_valid_check_digits(code):
    assert check_municipality_code(code) == code
    assert check_digit(code[:5]) == int(code[5])


def test_wrong_check_digit_says_what_was_expected():
    with pytest.raises(SourceError, match="expected 2; did you mean 132292"):
        check_municipality_code("132291")


@pytest.mark.parametrize("bad", ["13229", "１３２２９２", "13229x"])
def test_malformed_codes_are_refused(bad):
    with pytest.raises(SourceError, match="6 ASCII digits"):
        check_municipality_code(bad)
