"""``scenario list`` / ``show`` / ``graph`` / ``diff``: the built-in scenarios as
editable TOML, the reporting network drawn for slides, and what a variant changes."""

from __future__ import annotations

from pathlib import Path

import click

from .options import InputError, output, scenario_mod


@click.group()
def scenario():
    """Built-in scenarios: list them, or print one to copy and edit."""


@scenario.command("list")
def scenario_list():
    """List the built-in scenarios with their descriptions."""
    for name in scenario_mod.builtin_names():
        sc = scenario_mod.load(name)
        first = sc.scenario.description.strip().splitlines()[0] if sc.scenario.description.strip() else ""
        click.echo(f"{name:<20} {first}")


@scenario.command("show")
@click.argument("name")
@click.option("--resolved", is_flag=True, help="Print with every default written out (no comments).")
def scenario_show(name, resolved):
    """Print built-in scenario NAME as TOML (redirect it to a file to edit it)."""
    if resolved:
        click.echo(scenario_mod.load(name).to_toml(), nl=False)
    else:
        click.echo(scenario_mod.builtin_text(name), nl=False)


@scenario.command("graph")
@click.argument("name", metavar="SCENARIO_OR_FILE")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write NAME.svg, NAME.dot and NAME.mmd to (default: results/graph-NAME).")
@click.option("--base", default=None, metavar="SCENARIO_OR_FILE",
              help="Highlight what SCENARIO_OR_FILE changes against this base (default: a variant's own base).")
@click.option("--overwrite", is_flag=True, help="Replace drawings of the same name already in the folder.")
def scenario_graph(name, out, base, overwrite):
    """Draw the reporting network of a scenario or variant for slides: SVG, Graphviz
    DOT and Mermaid (a variant's changes highlighted in the SVG)."""
    from ..present import graph

    sc = scenario_mod.load(name)
    base_sc = scenario_mod.load(base) if base is not None else scenario_mod.variant_base(name)
    folder = output.figures_folder(out if out is not None else Path("results") / f"graph-{sc.name}")
    taken = [p for p in graph.drawing_paths(sc, folder) if scenario_mod.path_exists(p, "--out")]
    if taken and not overwrite:
        raise InputError(f"{taken[0]}: --out: exists already; give --overwrite to replace the drawings "
                         "(or another --out)")
    for path in graph.write_drawings(sc, base_sc, folder):
        click.echo(str(path))


@scenario.command("diff")
@click.argument("base", metavar="BASE")
@click.argument("variant", metavar="VARIANT")
def scenario_diff(base, variant):
    """What VARIANT changes against BASE (scenarios, variant files or built-ins): one
    line per node, link or setting added (+), removed (-) or changed (~)."""
    from ..present import graph

    a, b = scenario_mod.load(base), scenario_mod.load(variant)
    lines = graph.diff(a, b).lines(a, b)
    click.echo("\n".join(lines) if lines else "no differences")
