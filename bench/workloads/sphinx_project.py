"""Writes a Sphinx project of 21 pages into argv[1] (conf.py, index.rst and 20 chapters), each with
sections, highlighted Python, lists, a table and cross-references: a small manual's worth of work
for `sphinx-build -j 2`."""
import os
import sys

root = sys.argv[1]
os.makedirs(root, exist_ok=True)
with open(os.path.join(root, "conf.py"), "w") as file:
    file.write('project = "bench"\nextensions = []\nhtml_theme = "alabaster"\n')
chapters = ["chapter_%02d" % i for i in range(20)]
with open(os.path.join(root, "index.rst"), "w") as file:
    file.write("Bench manual\n============\n\n.. toctree::\n   :maxdepth: 2\n\n")
    file.writelines("   %s\n" % name for name in chapters)
for number, name in enumerate(chapters):
    parts = ["Chapter %d\n%s\n\n" % (number, "=" * (8 + len(str(number))))]
    for section in range(12):
        label = "%s-s%d" % (name, section)
        parts.append(".. _%s:\n\nSection %d.%d\n%s\n\n" % (label, number, section, "-" * 14))
        parts.append("Some *emphasis*, **strong** text and ``literals``, then a link to ")
        parts.append(":ref:`%s-s%d`.\n\n" % (chapters[(number + 1) % 20], (section + 1) % 12))
        parts.append("- item one\n- item two with ``code``\n- item three\n\n")
        parts.append(".. code-block:: python\n\n")
        for line in range(12):
            parts.append("    def f_%d_%d(x, y=%d):\n        return [x * i for i in range(y)]\n"
                         % (section, line, line))
        parts.append("\n")
        parts.append("=====  =====  =====\nA      B      C\n=====  =====  =====\n")
        parts.extend("%-5d  %-5d  %-5d\n" % (row, row * 2, row * 3) for row in range(6))
        parts.append("=====  =====  =====\n\n")
    with open(os.path.join(root, name + ".rst"), "w") as file:
        file.write("".join(parts))
