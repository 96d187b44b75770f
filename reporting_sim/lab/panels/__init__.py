"""The lab's panels, one small module each: its part of the page (``ui``) and its
reactions (``server``), both reading the shared :class:`.context.Lab`. What a panel
computes lives in :mod:`reporting_sim.lab.core`, :mod:`~reporting_sim.lab.mission` and
:mod:`~reporting_sim.lab.exercises`; the panels only wire it to the page."""
