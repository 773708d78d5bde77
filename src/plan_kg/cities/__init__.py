"""Other municipalities' plans: import (CSV/.xlsx), cross-city links, comparison chart.

Modules, in the order data flows: `importer` (a table + metadata -> data/<folder>/),
`reference` (the four reference plans in ../shared/reference/cities), `similarity`
(Japanese text + SDG goals -> scored pairs), `links` (the links table -> RDF),
`heatmap` (SDG coverage per city -> PNG/SVG), `cli` (the `import` and `link-cities` commands).
"""
