"""Tools for policy authors and auditors: ``policy test``, ``lint``, ``explain``, ``diff``.

* ``explain`` follows every field of a sample through real applies, one rule at a time
  (``trace``, ``mirror``, ``reads``), so what it says a policy does is what the engine did;
* ``lint`` checks a policy on a sample, one function per check;
* ``difftool`` compares two policies (policy keys, rules by id) and, through ``explain``,
  field by field (``effects``); ``classify`` judges each change for privacy;
* ``testrun`` runs a policy's test cases (``casefiles``) and measures rule coverage;
  ``testreport`` and ``junit`` print the result;
* ``samples`` holds the documents, the test key and the clock they all use; ``render``
  prints explanations and diffs; ``gitsrc`` reads ``REV:path``; ``doccheck`` keeps the
  worked examples of docs/auditing.md real.

Everything here uses the one policy loader and the one apply; nothing re-implements an
action. The commands are in ``learnexport.cli_policy``; the guide is docs/auditing.md.
"""

from __future__ import annotations
