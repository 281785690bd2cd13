"""An import-linter contract for parts of an outside package (``urllib.request``).

import-linter's own ``forbidden`` contract sees an outside package only whole
(``urllib``), and ``urllib.parse`` is fine everywhere: this one reads the import
lines into the package and refuses those that name a forbidden part, directly
imported by a module of ``source_modules``, except from the modules allowed.
Loaded by lint-imports only (``contract_types`` in pyproject.toml).
"""

from __future__ import annotations

import re

from importlinter import Contract, ContractCheck, fields, output


class ForbiddenSubmodulesContract(Contract):
    """``source_modules`` import none of ``forbidden_modules`` (dotted parts of outside
    packages) directly, but for ``allowed`` ("module -> part") pairs."""

    type_name = "forbidden_submodules"

    source_modules = fields.ListField(subfield=fields.ModuleField())
    forbidden_modules = fields.ListField(subfield=fields.StringField())
    allowed = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph, verbose: bool) -> ContractCheck:
        allowed = {tuple(part.strip() for part in pair.split("->")) for pair in self.allowed or []}
        sources = [m.name for m in self.source_modules]
        broken = []
        for forbidden in self.forbidden_modules:
            root, _, rest = forbidden.partition(".")
            names = re.compile(rf"\bimport {re.escape(forbidden)}\b|\bfrom {re.escape(forbidden)}\b"
                               rf"|\bfrom {re.escape(root)} import\b[^#]*\b{re.escape(rest)}\b")
            if root not in graph.modules:
                continue
            for importer in sorted(graph.find_modules_that_directly_import(root)):
                if not any(importer == s or importer.startswith(s + ".") for s in sources):
                    continue
                if (importer, forbidden) in allowed:
                    continue
                for detail in graph.get_import_details(importer=importer, imported=root):
                    if names.search(detail["line_contents"]):
                        broken.append((importer, forbidden, detail["line_number"]))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, forbidden, line in check.metadata["broken"]:
            output.print_error(f"{importer} is not allowed to import {forbidden} (l.{line})")
            output.new_line()
