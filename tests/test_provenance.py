"""Every number in a built-in scenario says where it comes from.

A line of the TOML file that sets a number (outside quoted strings) must carry a
provenance tag in its comment: ``[paper §...]``, ``[source: key]``, ``[assumption]``
or ``[derived]``; and every ``[source: key]`` must be one of the keys the file's header
defines, so a reader can look it up.
"""

import re

import pytest

from reporting_sim import scenario

TAG = re.compile(r"\[(paper §\d[^\]]*|source: [a-z0-9\-]+|assumption|derived)\]")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def numeric_lines(text: str):
    in_block = False
    for no, line in enumerate(text.splitlines(), 1):
        if line.count('"""') % 2 == 1:
            in_block = not in_block
            continue
        if in_block or line.lstrip().startswith("#") or "=" not in line:
            continue
        code, _, comment = STRING.sub('""', line).partition("#")
        if re.search(r"\d", code):
            yield no, line, comment


@pytest.mark.parametrize("name", scenario.builtin_names())
def test_every_number_has_provenance(name):
    text = scenario.builtin_text(name)
    missing = [f"line {no}: {line.strip()}" for no, line, comment in numeric_lines(text)
               if not TAG.search(comment)]
    assert not missing, "numbers without provenance:\n" + "\n".join(missing)


@pytest.mark.parametrize("name", scenario.builtin_names())
def test_source_keys_are_defined_in_the_header(name):
    text = scenario.builtin_text(name)
    header = text.split("[scenario]")[0]
    defined = set(re.findall(r"^#\s{2,}([a-z0-9\-]+)\s{2,}", header, flags=re.M))
    used = set(re.findall(r"\[source: ([a-z0-9\-]+)\]", text))
    assert used, "the scenario cites no public source at all"
    assert used <= defined, f"source keys used but not defined in the header: {sorted(used - defined)}"


def test_the_checker_catches_an_untagged_number():
    text = '[cells.x]\nanalysts = 3\nwork_h = 1.0  # [assumption] ok\nto = "g2_west"\n'
    flagged = [no for no, _, comment in numeric_lines(text) if not TAG.search(comment)]
    assert flagged == [2]


@pytest.mark.parametrize("name", scenario.builtin_names())
def test_copied_numbers_keep_the_weakest_tag_of_what_they_copy(name):
    from reporting_sim.scenario import provenance

    gaps = provenance.inheritance_gaps(scenario.builtin_text(name))
    assert not gaps, "copied settings that drop an [assumption] (or other weaker) tag:\n" + "\n".join(gaps)


def test_the_inheritance_checker_catches_a_dropped_assumption():
    from reporting_sim.scenario import provenance

    text = ('[collectors.a]\nliteracy = 0.4  # [paper §3 cultural fit] illiterate; [assumption] the value\n'
            '[collectors.b]\nliteracy = 0.4  # [paper §3 cultural fit] as a\n'
            '[collectors.c]\nliteracy = 0.4  # [paper §3 cultural fit] as a; [assumption] as a\n')
    gaps = provenance.inheritance_gaps(text)
    assert len(gaps) == 1 and gaps[0].startswith("collectors.b.literacy")


@pytest.mark.parametrize("name", scenario.builtin_names())
def test_the_scenario_cites_only_the_study_or_itself(name):
    text = scenario.builtin_text(name)
    assert "MODEL.md" not in text
