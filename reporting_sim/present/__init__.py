"""Presentation: what a person reads, drawn from results (never from a running model).

* :mod:`.glossary`: the one-line definition of every measure, units, caveats;
* :mod:`.tables`: text tables for the terminal;
* :mod:`.plots`: figures (matplotlib, PNG and SVG);
* :mod:`.graph`: the reporting network as SVG, DOT and Mermaid; what a variant changes;
* :mod:`.robustness`: a robustness study's text, figures and report section;
* :mod:`.report`: the self-contained HTML report.
"""
